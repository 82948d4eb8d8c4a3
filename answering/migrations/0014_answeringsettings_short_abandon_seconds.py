# The short-abandon threshold of the reports and the wallboard (reports/figures.py, issue #19).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("answering", "0013_callrecord_hold_seconds"),
    ]

    operations = [
        migrations.AddField(
            model_name="answeringsettings",
            name="short_abandon_seconds",
            field=models.PositiveIntegerField(
                default=5, help_text="Callers who hang up in the queue before this many seconds are not counted "
                                     "against the service (neither offered nor abandoned); 0 counts every one."),
        ),
    ]
