# The statistics page (mla.statistics.queries) aggregates all of one authority's copies.
# These covering indexes let each side be read by an index-only scan, over the period
# column it is filtered on, without visiting the table. They must match the two
# "request_stats_*" entries of Request.Meta.indexes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mla_requests", "0010_queue_filter_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("direction", "outgoing")),
                fields=["issuing_authority", "created_at"],
                include=(
                    "declaration_code",
                    "state",
                    "outcome_ground",
                    "executing_country",
                    "received_at",
                    "acknowledged_at",
                    "decided_at",
                    "closed_at",
                    "id",
                ),
                name="request_stats_outgoing",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("direction", "incoming")),
                fields=["executing_authority", "received_at"],
                include=(
                    "declaration_code",
                    "state",
                    "outcome_ground",
                    "issuing_country_code",
                    "acknowledged_at",
                    "decided_at",
                    "closed_at",
                    "id",
                ),
                name="request_stats_incoming",
            ),
        ),
    ]
