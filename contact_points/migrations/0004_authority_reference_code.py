"""Each authority's short code in the references it issues, derived for the existing entries
from their identifiers (contact_points.reference_codes), before the column becomes unique."""

import re

import django.core.validators
from django.db import migrations, models

from contact_points.reference_codes import reference_code_derive

HELP = (
    "Its short code in the references it issues (FR-PARIS1-EIO-2026-000042); "
    "derived from the identifier when left empty."
)
VALIDATORS = [
    django.core.validators.RegexValidator(
        re.compile("^[A-Z0-9]{2,12}$"), "2 to 12 capital letters or digits, e.g. “PARIS1”."
    )
]


def fill_codes(apps, schema_editor):
    Authority = apps.get_model("contact_points", "Authority")
    taken: set[str] = set()
    changed = []
    for authority in Authority.objects.select_related("country").order_by("id").iterator():
        authority.reference_code = reference_code_derive(
            identifier=authority.identifier, country_code=authority.country.code, taken=taken
        )
        taken.add(authority.reference_code)
        changed.append(authority)
        if len(changed) >= 2000:
            Authority.objects.bulk_update(changed, ["reference_code"])
            changed = []
    Authority.objects.bulk_update(changed, ["reference_code"])


class Migration(migrations.Migration):
    dependencies = [("contact_points", "0003_trust_changes")]

    operations = [
        migrations.AddField(
            model_name="authority",
            name="reference_code",
            field=models.CharField(
                blank=True,
                default="",
                help_text=HELP,
                max_length=12,
                validators=VALIDATORS,
                verbose_name="reference code",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
    ]
