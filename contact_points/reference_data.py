from typing import Any

import pycountry

from contact_points.models import Language


def languages_sync(**kwargs: Any) -> None:
    """Load the ISO 639-1 languages (idempotent; runs after every migrate and test flush)."""
    known = set(Language.objects.values_list("code", flat=True))
    missing = [
        Language(code=language.alpha_2, name=language.name)
        for language in pycountry.languages
        if hasattr(language, "alpha_2") and language.alpha_2 not in known
    ]
    Language.objects.bulk_create(missing, ignore_conflicts=True)


# The EU Member States bound by Directive 2014/41/EU (the EIO): all but Denmark and Ireland,
# which do not take part (the Directive's recitals 44 and 45). A country added to the
# directory without a file that says otherwise (node_init) starts from this.
EIO_BOUND_STATES = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    }
)

# The Member States bound by Regulation (EU) 2023/1543 (e-Evidence): all but Denmark, which
# does not take part (Protocol No 22); Ireland notified its wish to take part (Protocol
# No 21). Recorded from knowledge of the instrument, not yet checked against the Official
# Journal: it is data on each country, which a directory administrator can change.
EEVIDENCE_BOUND_STATES = EIO_BOUND_STATES | {"IE"}
