"""Failed-login throttling on three keys: (username, address), the address across
usernames (one client trying many accounts) and the username across addresses (one account
tried from many clients).

django-axes counts the failures (one row per username, address and browser) and locks when
a count reaches AXES_FAILURE_LIMIT, over the keys of AXES_LOCKOUT_PARAMETERS, all with that
one limit. The two wider keys need larger limits of their own, so this handler reports
each count as its share of its own limit, scaled to AXES_FAILURE_LIMIT: axes then locks as
soon as any one of the three reaches its limit, and the lockout, its page and its reset
stay axes' own.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def _failures(request: HttpRequest, **lookup: Any) -> int:
    attempts = AccessAttempt.objects.filter(**lookup)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    total = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


class LoginThrottleHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        failures = int(super().get_failures(request, credentials))
        limit = int(get_failure_limit(request, credentials))
        address = getattr(request, "axes_ip_address", None)
        username = get_client_username(request, credentials)
        # floor(count * limit / own_limit) reaches `limit` exactly when count reaches own_limit.
        if address:
            per_address = _failures(request, ip_address=address)
            failures = max(
                failures, per_address * limit // settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
            )
        if username:
            per_username = _failures(request, username=username)
            failures = max(
                failures, per_username * limit // settings.LOGIN_FAILURE_LIMIT_PER_USERNAME
            )
        return failures
