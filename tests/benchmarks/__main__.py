"""`make bench`: python -m tests.benchmarks [case-module ...]"""

import importlib
import os
import pkgutil
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mla.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

from tests.benchmarks.harness import Harness  # noqa: E402


def main(selected: list[str]) -> int:
    settings.DATABASES["default"]["TEST"]["NAME"] = os.environ.get(
        "BENCH_DATABASE_NAME", "bench_mla"
    )
    settings.DEBUG = False
    package_dir = Path(__file__).parent
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules([str(package_dir)])
        if info.name.startswith("bench_") and (not selected or info.name in selected)
    )
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    harness = Harness()
    try:
        for name in modules:
            print(f"{name}:", flush=True)
            importlib.import_module(f"tests.benchmarks.{name}").run(harness)
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()
    print()
    print(harness.table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
