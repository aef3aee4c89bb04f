"""Upkeep of the statistics' rollups (PostgreSQL; elsewhere there are none)."""

from django.db import connections, transaction

from mla.statistics.models import StatisticsRequestCount

# The advisory lock one compaction holds at a time ("mla_cmpt"): two at once could each
# wait for a row the other deleted first (their scans need not run in the same order).
_COMPACTING = 0x6D6C615F636D7074


def rollups_compact() -> None:
    """Fold the rows of each key of the count rollups into one and drop the keys that count
    nothing (mla_stats_compact, sql/0001_rollup.sql), so that the rows the page sums do not
    keep growing with the keys concurrent writers shared and the states requests left.

    Safe while others write, and changes no figure: readers see the rows as they were
    before or after, never between (one transaction); a row a writer holds is folded with
    its last value (the compaction waits for it), and a writer that finds a row being
    folded adds one of its own, left for the next time. Idempotent: a second run finds
    nothing to fold."""
    database = StatisticsRequestCount.objects.db
    connection = connections[database]
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(using=database), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_COMPACTING])
        cursor.execute("SELECT mla_stats_compact()")
