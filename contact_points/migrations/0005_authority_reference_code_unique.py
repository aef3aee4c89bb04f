"""The reference code unique, once every entry has one (0003): a separate migration, as
PostgreSQL alters no table with updates of the same transaction pending."""

import re

import django.core.validators
from django.db import migrations, models

HELP = (
    "Its short code in the references it issues (FR-PARIS1-EIO-2026-000042); "
    "derived from the identifier when left empty."
)
VALIDATORS = [
    django.core.validators.RegexValidator(
        re.compile("^[A-Z0-9]{2,12}$"), "2 to 12 capital letters or digits, e.g. “PARIS1”."
    )
]


class Migration(migrations.Migration):
    dependencies = [("contact_points", "0004_authority_reference_code")]

    operations = [
        migrations.AlterField(
            model_name="authority",
            name="reference_code",
            field=models.CharField(
                blank=True,
                help_text=HELP,
                max_length=12,
                unique=True,
                validators=VALIDATORS,
                verbose_name="reference code",
            ),
        ),
        migrations.AddField(
            model_name="historicalauthority",
            name="reference_code",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                help_text=HELP,
                max_length=12,
                validators=VALIDATORS,
                verbose_name="reference code",
            ),
            preserve_default=False,
        ),
    ]
