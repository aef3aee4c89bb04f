"""Settings of one node of the two-node harness (tests/support/nodes.py).

The test settings, except what tells two nodes apart, which comes from the environment the
harness gives each node's processes: the database (used as named, not a ``test_`` copy: the
test runner does not run on a node), the broker, and the directory holding the node's GnuPG
homes and uploaded files.
"""

from pathlib import Path

from mla.settings.base import database_tuned, env
from mla.settings.test import *  # noqa: F403

DATABASES = {"default": database_tuned(env.db("DATABASE_URL"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A throw-away database: a commit need not wait for the disk (the migrations take a third
# less time, and the benchmarks measure the exchange, not fsync).
DATABASES["default"]["OPTIONS"]["options"] += " -c synchronous_commit=off"

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
VAR_DIR = Path(env("MLA_VAR_DIR"))
NODE_GNUPG_HOME = VAR_DIR / "gnupg" / "node"
NODE_SECRET_GNUPG_HOME = VAR_DIR / "gnupg" / "secret"
MEDIA_ROOT = VAR_DIR / "media"
STATIC_ROOT = VAR_DIR / "static"
NODE_NAME = env("NODE_NAME")
SITE_URL = env("SITE_URL")
# The harness and the benchmarks measure the exchange's throughput, all from 127.0.0.1: the
# inbox's rate limit has tests of its own (tests/mla/exchange/test_transport.py).
INBOX_RATE_LIMIT_REQUESTS = 1_000_000
