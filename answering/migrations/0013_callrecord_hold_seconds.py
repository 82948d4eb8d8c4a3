# The caller's time on hold, for billing plans that count it or not (billing/, issue #19).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("answering", "0012_scriptstep_appointment"),
    ]

    operations = [
        migrations.AddField(
            model_name="callrecord",
            name="hold_seconds",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
