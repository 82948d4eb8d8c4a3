
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0002_ledger_append_only'),
    ]

    operations = [
        migrations.CreateModel(
            name='DncImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('filename', models.CharField(blank=True, max_length=255)),
                ('data', models.BinaryField(help_text='The uploaded file, until the job is over.')),
                ('added_by', models.CharField(max_length=200)),
                ('status', models.CharField(choices=[('queued', 'Waiting to start'), ('parsing', 'Checking the rows'), ('writing', 'Adding the numbers'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=8)),
                ('rows_total', models.PositiveIntegerField(default=0, help_text='Lines in the file (known once parsing starts).')),
                ('rows_done', models.PositiveIntegerField(default=0)),
                ('added', models.PositiveIntegerField(default=0)),
                ('already', models.PositiveIntegerField(default=0, help_text='Numbers that were already on the list.')),
                ('errors', models.JSONField(default=list, help_text='Every refused line: [{line, field, reason}], in file order (the first 100 000).')),
                ('errors_count', models.PositiveIntegerField(default=0)),
                ('failure', models.TextField(blank=True, help_text='Why the job failed (nothing was written).')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('finished', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'DNC import',
                'ordering': ['-created', '-id'],
            },
        ),
    ]
