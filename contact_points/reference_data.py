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
