# The statistics' rollup models moved to their own app (mla_statistics, migration 0001),
# which takes them over in its state. Their tables, indexes and triggers stay as they are,
# under the same names: only Django's state changes here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('mla_requests', '0013_statistics_rollup'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='StatisticsDeadlineCount'),
                migrations.DeleteModel(name='StatisticsDuration'),
                migrations.DeleteModel(name='StatisticsRequestCount'),
            ],
            database_operations=[],
        ),
    ]
