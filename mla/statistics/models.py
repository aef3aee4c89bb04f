"""The statistics' rollups and stored durations. Their tables were made by the requests
app (migration mla_requests 0013, whose names they keep) and are written by PostgreSQL
triggers only (mla/statistics/sql/); nothing in Python writes them."""

import datetime

from django.db import models

from contact_points.models import Authority, Country
from mla.requests.models import Request


class StatisticsRollup(models.Model):
    """What every row of the statistics' rollups is keyed by first: the authority whose own
    copy it counts, the offence category (empty on the rows that count every request) and
    the side. Written by PostgreSQL triggers only (sql/0001_rollup.sql)."""

    authority = models.ForeignKey(
        Authority,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    offence = models.CharField(max_length=64)
    direction = models.CharField(max_length=8)

    class Meta:
        abstract = True


class StatisticsRequestCount(StatisticsRollup):
    """How many of an authority's own copies share one key, for the statistics page.

    Kept by PostgreSQL triggers on the requests, their offences and their audit entries
    (sql/0001_rollup.sql), in the transaction of each change, whatever wrote it: never written
    from Python. A key may have several rows, to be summed: a change adds to a row of its
    key that no other open transaction holds, or starts one, so that writers never wait
    for each other here. ``day`` is the UTC day of the instant the period counts from
    (created for outgoing copies, received for incoming ones), UNDATED without one; the
    statistics cut the authority's own days from whole UTC days and read the few hours at
    either end from the requests themselves. ``offence`` is empty on the rows that count
    every request; a request naming offence categories counts once more under each.
    """

    UNDATED = datetime.date(1, 1, 1)

    day = models.DateField()
    declaration_code = models.CharField(max_length=40)
    issuing_country_code = models.CharField(max_length=2)
    executing_country = models.ForeignKey(
        Country,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    state = models.CharField(max_length=32)
    outcome_ground = models.CharField(max_length=32)
    followed_up = models.BooleanField()  # an audit entry "followed_up" exists
    n = models.IntegerField()

    class Meta:
        db_table = "mla_requests_stats_requests"
        indexes = [
            models.Index(
                fields=[
                    "authority",
                    "offence",
                    "direction",
                    "day",
                    "declaration_code",
                    "issuing_country_code",
                    "executing_country",
                    "state",
                    "outcome_ground",
                    "followed_up",
                ],
                name="stats_requests_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.authority_id} {self.direction} {self.day} {self.state}: {self.n}"


class StatisticsDeadlineCount(StatisticsRollup):
    """How many met or missed deadlines of an authority's own copies share one key: as
    StatisticsRequestCount, kept by the triggers on the deadlines (and on their requests and
    offences)."""

    day = models.DateField()
    declaration_code = models.CharField(max_length=40)
    code = models.CharField(max_length=40)
    state = models.CharField(max_length=16)
    late = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        db_table = "mla_requests_stats_deadlines"
        indexes = [
            models.Index(
                fields=[
                    "authority",
                    "offence",
                    "direction",
                    "day",
                    "declaration_code",
                    "code",
                    "state",
                    "late",
                ],
                name="stats_deadlines_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.authority_id} {self.direction} {self.day} {self.code}: {self.n}"


class StatisticsDuration(StatisticsRollup):
    """The durations of one of an authority's own copies that carries a receipt, for the
    medians and percentiles of the statistics page, in seconds from the receipt.

    Kept by the same triggers as StatisticsRequestCount, in the transaction of each change:
    one row per request (``offence`` empty) and one more per offence category it names, so
    that every filter of the page is a range of one of the indexes below and the rows of a
    (country, request type) group are read without a join. ``instant`` is when the copy
    entered the authority's work (created for outgoing copies, received for incoming
    ones); ``execute`` is set for executed and partially executed requests only.
    """

    request = models.ForeignKey(
        Request, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    issuing_country_code = models.CharField(max_length=2)
    executing_country = models.ForeignKey(
        Country,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    declaration_code = models.CharField(max_length=40)
    instant = models.DateTimeField()
    acknowledge = models.FloatField(null=True)
    decide = models.FloatField(null=True)
    execute = models.FloatField(null=True)

    class Meta:
        db_table = "mla_requests_stats_durations"
        indexes = [
            models.Index(
                fields=[
                    "authority",
                    "offence",
                    "issuing_country_code",
                    "declaration_code",
                    "instant",
                ],
                include=["acknowledge", "decide", "execute"],
                condition=models.Q(direction="incoming"),
                name="stats_durations_incoming",
            ),
            models.Index(
                fields=["authority", "offence", "executing_country", "declaration_code", "instant"],
                include=["acknowledge", "decide", "execute"],
                condition=models.Q(direction="outgoing"),
                name="stats_durations_outgoing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.offence}: {self.acknowledge}, {self.decide}"
