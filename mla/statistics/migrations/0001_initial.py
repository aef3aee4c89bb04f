# The statistics' rollup models, taken over from mla_requests (its migration 0014 gave them
# up): their tables (mla_requests_stats_*), indexes and triggers were made by mla_requests
# 0013 and stay as they are, so only Django's state changes here. Their content types move
# with them, so that any permission granted on them still applies.

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MODELS = ('statisticsdeadlinecount', 'statisticsduration', 'statisticsrequestcount')


def _content_types_move(apps: StateApps, *, source: str, target: str) -> None:
    ContentType = apps.get_model('contenttypes', 'ContentType')
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_forward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _content_types_move(apps, source='mla_requests', target='mla_statistics')


def content_types_backward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _content_types_move(apps, source='mla_statistics', target='mla_requests')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contact_points', '0002_search_trigram_index'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('mla_requests', '0014_statistics_models_moved'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StatisticsDeadlineCount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('offence', models.CharField(max_length=64)),
                        ('direction', models.CharField(max_length=8)),
                        ('day', models.DateField()),
                        ('declaration_code', models.CharField(max_length=40)),
                        ('code', models.CharField(max_length=40)),
                        ('state', models.CharField(max_length=16)),
                        ('late', models.BooleanField()),
                        ('n', models.IntegerField()),
                        ('authority', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contact_points.authority')),
                    ],
                    options={
                        'db_table': 'mla_requests_stats_deadlines',
                        'indexes': [models.Index(fields=['authority', 'offence', 'direction', 'day', 'declaration_code', 'code', 'state', 'late'], name='stats_deadlines_key')],
                    },
                ),
                migrations.CreateModel(
                    name='StatisticsDuration',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('offence', models.CharField(max_length=64)),
                        ('direction', models.CharField(max_length=8)),
                        ('issuing_country_code', models.CharField(max_length=2)),
                        ('declaration_code', models.CharField(max_length=40)),
                        ('instant', models.DateTimeField()),
                        ('acknowledge', models.FloatField(null=True)),
                        ('decide', models.FloatField(null=True)),
                        ('execute', models.FloatField(null=True)),
                        ('authority', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contact_points.authority')),
                        ('executing_country', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='contact_points.country')),
                        ('request', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mla_requests.request')),
                    ],
                    options={
                        'db_table': 'mla_requests_stats_durations',
                        'indexes': [models.Index(condition=models.Q(('direction', 'incoming')), fields=['authority', 'offence', 'issuing_country_code', 'declaration_code', 'instant'], include=('acknowledge', 'decide', 'execute'), name='stats_durations_incoming'), models.Index(condition=models.Q(('direction', 'outgoing')), fields=['authority', 'offence', 'executing_country', 'declaration_code', 'instant'], include=('acknowledge', 'decide', 'execute'), name='stats_durations_outgoing')],
                    },
                ),
                migrations.CreateModel(
                    name='StatisticsRequestCount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('offence', models.CharField(max_length=64)),
                        ('direction', models.CharField(max_length=8)),
                        ('day', models.DateField()),
                        ('declaration_code', models.CharField(max_length=40)),
                        ('issuing_country_code', models.CharField(max_length=2)),
                        ('state', models.CharField(max_length=32)),
                        ('outcome_ground', models.CharField(max_length=32)),
                        ('followed_up', models.BooleanField()),
                        ('n', models.IntegerField()),
                        ('authority', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contact_points.authority')),
                        ('executing_country', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='contact_points.country')),
                    ],
                    options={
                        'db_table': 'mla_requests_stats_requests',
                        'indexes': [models.Index(fields=['authority', 'offence', 'direction', 'day', 'declaration_code', 'issuing_country_code', 'executing_country', 'state', 'outcome_ground', 'followed_up'], name='stats_requests_key')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
