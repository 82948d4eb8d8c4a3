"""The presence log: one row per stretch of an agent's presence, written by a trigger.

Every change of ``acd_agentpresence.status`` — whichever code path makes it, an ORM
``save()``, a conditional ``UPDATE``, raw SQL — closes the agent's open interval and opens the
next one in the same statement, so the log and the presence cannot disagree and a rolled-back
change leaves the log as it was. The boundary is the row's new ``since`` (each service stamps
it), or the moment of the change when a writer left ``since`` alone; never before the open
interval's start, so intervals never overlap. Public schema only (``answering.acd`` is a shared
app): the function names its tables with their schema, as tenant sessions put theirs first on
the search_path. Agents' current presence opens their first intervals.
"""

import django.contrib.postgres.constraints
import django.contrib.postgres.fields.ranges
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION public.acd_presence_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz;
    open_id bigint;
    open_started timestamptz;
    closed_at timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE public.acd_presenceinterval SET ended = GREATEST(started, now())
         WHERE agent_id = OLD.agent_id AND ended IS NULL;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;  -- a reason, a mode, a missed offer counted: the same interval goes on
    END IF;
    at := CASE WHEN TG_OP = 'INSERT' OR NEW.since IS DISTINCT FROM OLD.since THEN NEW.since
               ELSE clock_timestamp() END;  -- a writer that left since alone: the change's own time
    -- The presence row is locked by this very UPDATE/INSERT: changes of one agent take turns here.
    -- Close the open interval where the change happened (never before it began): one statement.
    UPDATE public.acd_presenceinterval SET ended = GREATEST(at, started)
     WHERE agent_id = NEW.agent_id AND ended IS NULL
    RETURNING id, started, ended INTO open_id, open_started, closed_at;
    IF FOUND THEN
        at := closed_at;
        IF at = open_started THEN
            -- Two changes at one instant: the first one's interval had no length; this one replaces it.
            DELETE FROM public.acd_presenceinterval WHERE id = open_id;
        END IF;
    ELSE
        -- No open interval (a first presence, or one deleted): start after the last one ended.
        at := GREATEST(at, COALESCE((SELECT max(ended) FROM public.acd_presenceinterval
                                      WHERE agent_id = NEW.agent_id), at));
    END IF;
    INSERT INTO public.acd_presenceinterval (agent_id, status, started, ended)
         VALUES (NEW.agent_id, NEW.status, at, NULL);
    RETURN NEW;
END;
$$;
CREATE TRIGGER acd_presence_log
    AFTER INSERT OR UPDATE OF status, since OR DELETE ON public.acd_agentpresence
    FOR EACH ROW EXECUTE FUNCTION public.acd_presence_log();
INSERT INTO public.acd_presenceinterval (agent_id, status, started, ended)
     SELECT agent_id, status, since, NULL FROM public.acd_agentpresence;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS acd_presence_log ON public.acd_agentpresence;
DROP FUNCTION IF EXISTS public.acd_presence_log();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('acd', '0009_outbox_webhook'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PresenceInterval',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('offline', 'Offline'), ('available', 'Available'), ('offered', 'Offered a call'), ('on_call', 'On a call'), ('wrap_up', 'Wrap-up'), ('break', 'Break'), ('away', 'Away (missed offers)')], max_length=12)),
                ('started', models.DateTimeField()),
                ('ended', models.DateTimeField(blank=True, help_text="Empty while this is the agent's status now.", null=True)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['agent', 'started'], name='acd_presence_log_agent')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('ended__isnull', True)), fields=('agent',), name='acd_presence_log_one_open'), models.CheckConstraint(condition=models.Q(('ended__isnull', True), ('ended__gte', models.F('started')), _connector='OR'), name='acd_presence_log_order'), django.contrib.postgres.constraints.ExclusionConstraint(expressions=[(models.Func(models.F('agent'), models.F('agent'), models.Value('[]'), function='int8range', output_field=django.contrib.postgres.fields.ranges.BigIntegerRangeField()), '&&'), (models.Func(models.F('started'), models.F('ended'), models.Value('[)'), function='tstzrange', output_field=django.contrib.postgres.fields.ranges.DateTimeRangeField()), '&&')], name='acd_presence_log_no_overlap')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
