"""SMS keywords get a language (the reply's) and a fourth action: ``review``, a possible
opt-out flagged for a person; the same words may be listed once per kind of match. Existing
keywords are English."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("compliance_platform", "0002_seed_rules"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="smskeyword",
            options={"ordering": ["action", "language", "text"]},
        ),
        migrations.AddField(
            model_name="smskeyword",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("es", "Spanish"), ("fr", "French"), ("pt", "Portuguese"), ("zh", "Chinese")],
                default="en", help_text="The language of the word; the reply is in it where the client serves it.",
                max_length=8),
        ),
        migrations.AlterField(
            model_name="smskeyword",
            name="action",
            field=models.CharField(
                choices=[("opt_out", "Opt out"), ("opt_in", "Opt back in (texts)"), ("help", "Help"),
                         ("review", "Possible opt-out: flag for a person")],
                max_length=8),
        ),
        migrations.AlterField(
            model_name="smskeyword",
            name="text",
            field=models.CharField(
                help_text="Stored lowercase, accents folded, words split by single spaces (“no más” → “no mas”).",
                max_length=60),
        ),
        migrations.AddConstraint(
            model_name="smskeyword",
            constraint=models.UniqueConstraint(fields=("text", "match"), name="sms_keyword_text_match_unique"),
        ),
    ]
