from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('acd', '0005_console_truth'),
    ]

    operations = [
        migrations.AddField(
            model_name='callsession',
            name='conference',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
