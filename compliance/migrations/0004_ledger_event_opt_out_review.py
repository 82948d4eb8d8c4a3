"""A ledger event for a text that may mean “stop” but was not acted on: flagged for a person.
Choices only: no SQL runs in the client schemas."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0003_dnc_import"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="event",
            field=models.CharField(
                choices=[("decision", "Gate decision"), ("scrub", "List scrub"), ("opt_out", "Opt-out recorded"),
                         ("opt_in", "Opt-in (re-subscribed)"), ("opt_in_refused", "Re-subscribe refused"),
                         ("dnc_removed", "DNC entry removed"), ("consent", "Consent recorded"),
                         ("opt_out_review", "Possible opt-out, for a person to read")],
                default="decision", max_length=16),
        ),
    ]
