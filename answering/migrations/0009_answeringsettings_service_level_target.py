# A per-client service-level target for the wallboard (80 % within the threshold by default).

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('answering', '0008_callrecord_hung_up_draft'),
    ]

    operations = [
        migrations.AddField(
            model_name='answeringsettings',
            name='service_level_target',
            field=models.PositiveSmallIntegerField(
                default=80, help_text='Percent of calls to answer within the threshold; the wallboard turns amber near it, red below.',
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)]),
        ),
    ]
