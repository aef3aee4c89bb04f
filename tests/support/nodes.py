"""Two exchange nodes in one test run: real processes, real HTTP, real Celery, real gpg.

Each node has its own PostgreSQL database, GnuPG homes and media directory (under one
temporary directory), its own web server (gunicorn, one process of threads, as deployed but
threaded so that a stuck request does not hold the others), its own Celery worker on its own
database index of a private redis-server started for the pair (persistence off), and a
*console*: a long-lived Django process of the node that runs the project's services on
command (tests/support/node_console.py). Every process runs in its own process group
and dies with the process that started it.

Node A hosts a German prosecutor, node B a French prosecutor's office that executes; both
have the same directory, in which each node published its authority's key (made on that
node, as `manage.py node_keys` makes it) and its inbox URL. Users exist on their own node
only, so each node sends to the other through the exchange.

    with TwoNodes.start(prefix="test_mla", postgres=Postgres.from_django()) as nodes:
        reference = nodes.a.call("request_ready", username=PROSECUTOR, ...)

Used by tests/mla/exchange/test_two_nodes.py and tests/benchmarks/bench_exchange.py.
"""

import contextlib
import ctypes
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from django.conf import settings as django_settings
from psycopg import sql

from tests.support.node_console import decode_hook, encode

REPO = Path(__file__).resolve().parents[2]
NODE_SETTINGS = "tests.support.node_settings"

# The directory both nodes share. A hosts the issuing side, B the executing side.
COUNTRIES = [{"code": "DE", "name": "Germany"}, {"code": "FR", "name": "France"}]
GERMAN = "de-berlin-prosecutor"
FRENCH = "fr-paris-prosecutor"
AUTHORITIES = [
    {
        "identifier": GERMAN,
        "name": "Staatsanwaltschaft Berlin",
        "country": "DE",
        "kind": "prosecutor",
        "time_zone": "Europe/Berlin",
        "instruments": ["eio", "mla", "preservation"],
    },
    {
        "identifier": FRENCH,
        "name": "Parquet de Paris",
        "country": "FR",
        "kind": "prosecutor",
        "time_zone": "Europe/Paris",
        "instruments": ["eio", "mla", "preservation"],
    },
]
PROSECUTOR = "prosecutor.de"  # on A
INTAKE = "intake.fr"  # on B: the contact point that acknowledges and decides
USERS = {
    "a": [
        {
            "username": PROSECUTOR,
            "first_name": "Jonas",
            "last_name": "Becker",
            "authority": GERMAN,
            "roles": ["prosecutor"],
        }
    ],
    "b": [
        {
            "username": INTAKE,
            "first_name": "Camille",
            "last_name": "Roux",
            "authority": FRENCH,
            "roles": ["contact_point_staff"],
        }
    ],
}

# e-Evidence (Regulation (EU) 2023/1543), with ``TwoNodes(eevidence=True)``: both countries
# bound, and node B also hosts a service provider's designated establishment in France (the
# addressee of A's EPOCs and EPOC-PRs) and the French enforcing authority, notified of them.
PROVIDER = "fr-provider"
ENFORCING = "fr-enforcing"
EEVIDENCE_AUTHORITIES = [
    {
        "identifier": PROVIDER,
        "name": "Exemple Mail SAS (designated establishment)",
        "country": "FR",
        "kind": "service_provider",
        "time_zone": "Europe/Paris",
        "instruments": ["epoc", "epoc_pr"],
    },
    {
        "identifier": ENFORCING,
        "name": "Bureau de l'entraide pénale internationale",
        "country": "FR",
        "kind": "central_authority",
        "time_zone": "Europe/Paris",
        "instruments": ["epoc_notification"],
    },
]
PROVIDER_STAFF = "staff.provider.fr"  # on B
ENFORCING_STAFF = "staff.enforcing.fr"  # on B
EEVIDENCE_USERS = [
    {
        "username": PROVIDER_STAFF,
        "first_name": "Léa",
        "last_name": "Martin",
        "authority": PROVIDER,
        "roles": ["provider_staff"],
    },
    {
        "username": ENFORCING_STAFF,
        "first_name": "Hugo",
        "last_name": "Bernard",
        "authority": ENFORCING,
        "roles": ["central_authority_staff"],
    },
]

# Short delays, so that retries, backoff and the stale requeue happen within a test.
EXCHANGE_SETTINGS = {
    "EXCHANGE_DELIVERY_TIMEOUT_SECONDS": "10",
    "EXCHANGE_MAX_ATTEMPTS": "10",
    "EXCHANGE_BACKOFF_BASE_SECONDS": "1",
    "EXCHANGE_BACKOFF_CAP_SECONDS": "2",
    "EXCHANGE_STALE_AFTER_SECONDS": "2",
    # Produced data over 1 MB leave in parts (e-Evidence), so a test can show the split.
    "EEVIDENCE_DATA_PART_MAX_MB": "1",
}
# Variables of the calling process that must not reach a node: the node's own replace them.
_NOT_INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
    "TEST_DATABASE_NAME",
    "MLA_VAR_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "NODE_GNUPG_HOME",
    "NODE_SECRET_GNUPG_HOME",
    "NODE_NAME",
    "SITE_URL",
)

T = TypeVar("T")


class NodeError(RuntimeError):
    """A node's process failed or did not answer; the message ends with its log."""


class ConsoleError(RuntimeError):
    """A console command raised in the node; the message holds the node's traceback."""


# Processes -----------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: a killed test run leaves no node behind.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    probe: Callable[[], T | None], *, timeout: float, interval: float = 0.1, what: str = "it"
) -> T:
    """The first truthy value ``probe`` returns within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {timeout:.0f} s for {what}; last seen: {value!r}")
        time.sleep(interval)
        value = probe()
    return value


def processes_cpu() -> dict[int, tuple[int, float]]:
    """Each process of this machine: its process group, and the CPU seconds it used with the
    children it has waited for (a gpg run counts for the process that ran it)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        fields = text[text.rindex(")") + 2 :].split()
        # After the state: ppid, pgrp, ... utime, stime, cutime, cstime (fields 14-17).
        found[int(stat.parent.name)] = (int(fields[2]), sum(map(int, fields[11:15])) / ticks)
    return found


ROOTS = Path("/tmp")  # short paths: gpg-agent's socket path must stay under ~107 characters
ROOT_PREFIX = "mla2n-"
OWNER = "owner"


def _started_at(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot), "" if there is none: with the
    pid, it names one process, not a later one given the same pid."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.rindex(")") + 2 :].split()[19]


def _mentions(pid: int, root: str) -> bool:
    for part in ("cmdline", "environ"):
        with contextlib.suppress(OSError):
            if root.encode() in Path(f"/proc/{pid}/{part}").read_bytes():
                return True
    return False


def reap_abandoned(postgres: "Postgres") -> None:
    """Clear what a run killed outright left behind (its process had no time to stop its
    nodes): any process still naming its directory (a gunicorn worker paused by a fault test
    outlives its master; gpg-agent detaches from every group), its databases, its files."""
    for root in ROOTS.glob(f"{ROOT_PREFIX}*"):
        try:
            pid, started, *databases = (root / OWNER).read_text().split()
        except (OSError, ValueError):
            continue  # not one of ours, or being set up
        if _started_at(int(pid)) == started:
            continue  # its run is still going
        for process in Path("/proc").glob("[0-9]*"):
            if _mentions(int(process.name), str(root)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(process.name), signal.SIGKILL)
        for database in databases:
            with contextlib.suppress(psycopg.Error):
                postgres.drop(database)
        shutil.rmtree(root, ignore_errors=True)


def _log_tail(path: Path, *, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Service:
    """A command run in its own process group, its output appended to a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        log: Path,
        cwd: Path = REPO,
    ) -> None:
        self.name, self.argv, self.env, self.log, self.cwd = name, argv, dict(env), log, cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_offset = 0

    def start(self, *, env: Mapping[str, str] | None = None) -> "Service":
        if self.running:
            raise NodeError(f"{self.name} is already running")
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})},
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        """What the process wrote since it was last started."""
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def failure(self, what: str) -> NodeError:
        return NodeError(f"{self.name}: {what}\n--- {self.log} ---\n{_log_tail(self.log)}")

    def signal(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up, as a crash or the OOM killer would."""
        if self.popen is None:
            return
        self.signal(signal.SIGKILL)
        self.popen.wait()
        self.popen = None

    def terminate(self) -> None:
        """Ask the group to stop (see finish)."""
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)  # a paused group handles SIGTERM only once resumed

    def finish(self, *, deadline: float) -> None:
        """Wait for a terminated process until ``deadline`` (monotonic), then kill its group
        anyway: a gunicorn worker or a prefork child may outlive its parent."""
        if self.popen is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        self.kill()

    def stop(self, *, timeout: float = 5.0) -> None:
        self.terminate()
        self.finish(deadline=time.monotonic() + timeout)


# The console -------------------------------------------------------------------------------


class Console:
    """The node's console process: one command at a time, answered as JSON."""

    def __init__(self, name: str, *, env: Mapping[str, str], log: Path) -> None:
        self.name, self.log = name, log
        with log.open("ab") as errors:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "tests.support.node_console"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=dict(env),
                cwd=REPO,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                text=True,
                encoding="utf-8",
            )
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"console-{name}", daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def send(self, command: Mapping[str, Any]) -> None:
        assert self.popen.stdin is not None
        try:
            self.popen.stdin.write(json.dumps(encode(dict(command))) + "\n")
            self.popen.stdin.flush()
        except BrokenPipeError as error:
            raise self._failure("the console has exited") from error

    def receive(self, *, timeout: float = 120.0) -> Any:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            # The answer may still come and would be taken for the next one's: end it.
            self.close()
            raise self._failure(f"no answer within {timeout:.0f} s") from None
        if line is None:
            raise self._failure("the console has exited")
        answer = json.loads(line, object_hook=decode_hook)
        if not answer["ok"]:
            raise ConsoleError(f"node {self.name}: {answer['error']}\n{answer['traceback']}")
        return answer["result"]

    def call(self, helper: str, *, timeout: float = 120.0, **kwargs: Any) -> Any:
        self.send({"call": helper, "kwargs": kwargs})
        return self.receive(timeout=timeout)

    def run(self, source: str, *, timeout: float = 120.0, **variables: Any) -> Any:
        """Run a snippet in the node; the value it assigns to ``result``."""
        self.send({"exec": source, "vars": variables})
        return self.receive(timeout=timeout)

    def _failure(self, what: str) -> NodeError:
        return NodeError(f"console {self.name}: {what}\n--- {self.log} ---\n{_log_tail(self.log)}")

    def terminate(self) -> None:
        """The end of its commands: the console exits (see finish)."""
        with contextlib.suppress(OSError, ValueError):
            assert self.popen.stdin is not None
            self.popen.stdin.close()

    def finish(self, *, deadline: float) -> None:
        try:
            self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        with contextlib.suppress(OSError, ValueError):
            assert self.popen.stdout is not None
            self.popen.stdout.close()

    def close(self, *, timeout: float = 5.0) -> None:
        self.terminate()
        self.finish(deadline=time.monotonic() + timeout)


def call_both(
    first: tuple[Console, str, dict[str, Any]], second: tuple[Console, str, dict[str, Any]]
) -> tuple[Any, Any]:
    """The same kind of work on both nodes at once."""
    for console, helper, kwargs in (first, second):
        console.send({"call": helper, "kwargs": kwargs})
    return first[0].receive(), second[0].receive()


# PostgreSQL and Redis ----------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """The server the main test run uses; the nodes get databases of their own on it."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_django(cls) -> "Postgres":
        from django.conf import settings

        database = settings.DATABASES["default"]
        return cls(
            host=str(database.get("HOST") or "127.0.0.1"),
            port=int(database.get("PORT") or 5432),
            user=str(database.get("USER") or "postgres"),
            password=str(database.get("PASSWORD") or ""),
        )

    def url(self, name: str) -> str:
        credentials = urllib.parse.quote(self.user, safe="")
        if self.password:
            credentials += ":" + urllib.parse.quote(self.password, safe="")
        return f"postgres://{credentials}@{self.host}:{self.port}/{name}"

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(statement)

    def create(self, name: str, *, template: str | None = None) -> None:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        self._execute(statement)

    def backends(self, databases: list[str]) -> dict[int, str]:
        """The server processes connected to ``databases`` (pid: database); none when the
        server runs on another machine, whose process ids mean nothing here."""
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            return {}
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            rows = connection.execute(
                "SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY(%s)", (databases,)
            ).fetchall()
        return {int(pid): str(name) for pid, name in rows}

    def drop(self, name: str) -> None:
        # FORCE: a process killed without closing its connections must not keep it alive.
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class Redis:
    """A private redis-server, without persistence: one database index per node."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise NodeError("redis-server is not installed (Debian package redis-server)")
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(root), "--protected-mode", "no"]
        self.service = Service("redis", argv, env=os.environ, log=root / "redis.log")

    def url(self, index: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{index}"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.service.start()
        wait_for(self._answers, timeout=10, what="redis-server")

    def stop(self) -> None:
        """The broker goes away at once, as a crashed one would (nothing is saved anyway)."""
        self.service.kill()


# A node ----------------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    root: Path
    database: str
    database_url: str
    broker_url: str
    settings: dict[str, str]
    web_port: int = field(default_factory=free_port)
    web_workers: int = 1
    web_threads: int = 4
    worker_pool: str = "solo"
    worker_concurrency: int = 1
    # 0: one worker serves every queue. Otherwise, as deployed, ``worker`` serves the default
    # queue and ``exchange_worker`` (prefork, this many processes) the deliveries.
    exchange_worker_concurrency: int = 0

    def __post_init__(self) -> None:
        for directory in ("gnupg", "media", "logs"):
            (self.root / directory).mkdir(parents=True, exist_ok=True)
        self.console: Console | None = None
        self.worker_overridden = False
        conf = self.root / "gunicorn.conf.py"
        conf.write_text(
            "# The harness gives every setting on the command line, but one: a receive\n"
            "# buffer that holds a whole message while a fault test pauses the server (the\n"
            "# kernel's default, 128 KiB, is less than a complete EIO's sealed message).\n"
            "import socket\n\n\n"
            "def when_ready(server):\n"
            "    for listener in server.LISTENERS:\n"
            "        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)\n"
        )
        self.web = Service(
            f"web {self.name}",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "mla.wsgi:application",
                f"--config={conf}",
                f"--bind=127.0.0.1:{self.web_port}",
                # One thread a process: sync workers, as deployed (deploy/gunicorn.conf.py).
                f"--worker-class={'gthread' if self.web_threads > 1 else 'sync'}",
                f"--workers={self.web_workers}",
                f"--threads={self.web_threads}",
                "--timeout=120",
                "--graceful-timeout=3",
                "--no-control-socket",
                "--access-logfile=-",
                "--error-logfile=-",
            ],
            env=self.env,
            log=self.logs / "web.log",
        )
        self.worker = Service(f"worker {self.name}", [], env=self.env, log=self.logs / "worker.log")
        self._worker_argv()
        self.exchange_worker: Service | None = None
        if self.exchange_worker_concurrency:
            self.exchange_worker = Service(
                f"exchange worker {self.name}",
                self._celery_worker_argv(
                    pool="prefork",
                    concurrency=self.exchange_worker_concurrency,
                    queues=django_settings.EXCHANGE_QUEUE,
                    hostname=f"exchange-{self.name}@%h",
                ),
                env=self.env,
                log=self.logs / "exchange-worker.log",
            )

    @staticmethod
    def _celery_worker_argv(
        *, pool: str, concurrency: int, queues: str, hostname: str
    ) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mla",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            "--loglevel=INFO",
            f"--hostname={hostname}",
            # Nothing to learn from other workers: a faster start, fewer broker messages.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def _worker_argv(self, *, pool: str | None = None, concurrency: int | None = None) -> None:
        queues = [django_settings.CELERY_TASK_DEFAULT_QUEUE]
        if not self.exchange_worker_concurrency:
            queues.append(django_settings.EXCHANGE_QUEUE)
        self.worker.argv = self._celery_worker_argv(
            pool=pool or self.worker_pool,
            concurrency=concurrency or self.worker_concurrency,
            queues=",".join(queues),
            hostname=f"{self.name}@%h",
        )

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def inbox_url(self) -> str:
        return f"{self.base_url}/exchange/inbox/"

    @property
    def env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
        return {
            **inherited,
            **self.settings,
            "DJANGO_SETTINGS_MODULE": NODE_SETTINGS,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "MLA_VAR_DIR": str(self.root),
            "NODE_NAME": f"Node {self.name.upper()}",
            "SITE_URL": self.base_url,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }

    # The console

    def start_console(self) -> None:
        self.console = Console(self.name, env=self.env, log=self.logs / "console.log")

    def call(self, helper: str, *, timeout: float = 120.0, **kwargs: Any) -> Any:
        assert self.console is not None
        return self.console.call(helper, timeout=timeout, **kwargs)

    def run(self, source: str, *, timeout: float = 120.0, **variables: Any) -> Any:
        assert self.console is not None
        return self.console.run(source, timeout=timeout, **variables)

    # The web server

    def _web_answers(self) -> bool:
        if not self.web.running:
            raise self.web.failure("exited while starting")
        try:
            urllib.request.urlopen(self.inbox_url, timeout=2)  # noqa: S310  # our own node
        except urllib.error.HTTPError as error:
            return error.code == 405  # the inbox takes only POST: the application answered
        except OSError:
            return False
        return False

    def start_web(self, *, wait: bool = True) -> None:
        self.web.start()
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        wait_for(self._web_answers, timeout=60, what=f"the web server of node {self.name}")

    def stop_web(self) -> None:
        self.web.stop()

    # The worker

    @property
    def workers(self) -> tuple[Service, ...]:
        return (
            (self.worker,) if self.exchange_worker is None else (self.worker, self.exchange_worker)
        )

    def _workers_ready(self) -> bool:
        for worker in self.workers:
            if not worker.running:
                raise worker.failure("exited while starting")
        return all(" ready." in worker.output() for worker in self.workers)

    def start_worker(
        self,
        *,
        wait: bool = True,
        pool: str | None = None,
        concurrency: int | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """Start the worker; ``settings`` override the node's for this worker only."""
        self._worker_argv(pool=pool, concurrency=concurrency)
        self.worker.start(env=settings)
        if self.exchange_worker is not None and not self.exchange_worker.running:
            self.exchange_worker.start()
        self.worker_overridden = bool(settings or pool or concurrency)
        if wait:
            self.wait_worker()

    def wait_worker(self) -> None:
        wait_for(self._workers_ready, timeout=60, what=f"the workers of node {self.name}")

    def restart_worker(self, **settings: str) -> None:
        """A new worker (with ``settings`` overriding the node's), the old one killed: only
        when no task is in flight, since a killed worker's unacknowledged task comes back
        only after the broker's visibility timeout, and its scheduled retries not at all."""
        self.worker.kill()
        self.start_worker(settings=settings)

    def terminate(self) -> None:
        for process in (*self.workers, self.web, self.console):
            if process is not None:
                process.terminate()

    def finish(self, *, deadline: float) -> None:
        for process in (*self.workers, self.web, self.console):
            if process is not None:
                process.finish(deadline=deadline)
        for home in (self.root / "gnupg" / "secret", self.root / "gnupg" / "node"):
            # gpg-agent detaches from the process group: end it by its home.
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                check=False,
                capture_output=True,
            )

    def pending_bytes(self) -> int:
        """Bytes received on the web server's port that no process has read yet (the largest
        on one connection): what a paused server leaves in its sockets."""
        largest = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as sockets:
                next(sockets)
                for line in sockets:
                    fields = line.split()
                    local, state, queues = fields[1], fields[3], fields[4]
                    if int(local.rsplit(":", 1)[1], 16) == self.web_port and state == "01":
                        largest = max(largest, int(queues.split(":")[1], 16))
        return largest


# The pair ---------------------------------------------------------------------------------------


class TwoNodes:
    """Nodes ``a`` and ``b``, started together and stopped together (see the module doc)."""

    def __init__(
        self,
        *,
        prefix: str,
        postgres: Postgres,
        settings: Mapping[str, str] | None = None,
        web_workers: int = 1,
        web_threads: int = 4,
        worker_pool: str = "solo",
        worker_concurrency: int = 1,
        exchange_worker_concurrency: int = 0,
        eevidence: bool = False,
    ) -> None:
        reap_abandoned(postgres)
        self.eevidence = eevidence
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=ROOTS))
        self.template = f"{prefix}_node_template"
        self.postgres = postgres
        self.redis = Redis(self.root / "redis")
        node_settings = {**EXCHANGE_SETTINGS, **(settings or {})}
        self.a, self.b = (
            Node(
                name=name,
                root=self.root / name,
                database=f"{prefix}_node_{name}",
                database_url=postgres.url(f"{prefix}_node_{name}"),
                broker_url=self.redis.url(index),
                settings=node_settings,
                web_workers=web_workers,
                web_threads=web_threads,
                worker_pool=worker_pool,
                worker_concurrency=worker_concurrency,
                exchange_worker_concurrency=exchange_worker_concurrency,
            )
            for index, name in enumerate(("a", "b"))
        )
        self.fingerprints: dict[str, str] = {}
        (self.root / OWNER).write_text(
            " ".join(
                [
                    str(os.getpid()),
                    _started_at(os.getpid()),
                    self.template,
                    self.a.database,
                    self.b.database,
                ]
            )
        )

    @classmethod
    @contextlib.contextmanager
    def start(cls, **options: Any) -> Iterator["TwoNodes"]:
        nodes = cls(**options)
        try:
            nodes._start()
            yield nodes
        finally:
            nodes.close()

    @property
    def nodes(self) -> tuple[Node, Node]:
        return self.a, self.b

    def _migrate(self) -> None:
        """Migrate a template database and copy it for both nodes: one migration run, and no
        node process connected to the database copied (PostgreSQL refuses to copy one in
        use)."""
        log = self.root / "migrate.log"
        with log.open("ab") as output:
            migrated = subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "-v1"],
                cwd=REPO,
                env={**self.a.env, "DATABASE_URL": self.postgres.url(self.template)},
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if migrated.returncode != 0:
            raise NodeError(f"migrate failed\n--- {log} ---\n{_log_tail(log)}")
        for node in self.nodes:
            self.postgres.create(node.database, template=self.template)
        self.postgres.drop(self.template)

    def _directory(self) -> None:
        a, b = self.a.console, self.b.console
        assert a is not None
        assert b is not None
        countries, authorities = COUNTRIES, AUTHORITIES
        users_b = USERS["b"]
        hosted_b = [FRENCH]
        if self.eevidence:
            countries = [{**country, "eevidence_bound": True} for country in COUNTRIES]
            authorities = [*AUTHORITIES, *EEVIDENCE_AUTHORITIES]
            users_b = [*users_b, *EEVIDENCE_USERS]
            hosted_b += [entry["identifier"] for entry in EEVIDENCE_AUTHORITIES]
        directory = {"countries": countries, "authorities": authorities}
        call_both((a, "directory_load", directory), (b, "directory_load", directory))
        call_both(
            (a, "users_create", {"users": USERS["a"]}), (b, "users_create", {"users": users_b})
        )
        # Each node makes its authorities' key pairs and publishes them: the other node pins
        # them.
        german, french = call_both(
            (a, "key_create", {"authority": GERMAN}), (b, "key_create", {"authority": FRENCH})
        )
        self.fingerprints = dict(
            zip(
                (FRENCH, GERMAN),
                call_both(
                    (a, "key_pin", {"authority": FRENCH, "armored": french}),
                    (b, "key_pin", {"authority": GERMAN, "armored": german}),
                ),
                strict=True,
            )
        )
        for authority in hosted_b[1:]:
            armored = b.call("key_create", authority=authority)
            self.fingerprints[authority] = a.call("key_pin", authority=authority, armored=armored)
        for console in (a, b):
            for authority, node in (
                (GERMAN, self.a),
                *((hosted, self.b) for hosted in hosted_b),
            ):
                console.call("inbox_url_set", authority=authority, url=node.inbox_url)

    def _start(self) -> None:
        self.redis.start()
        for name in (self.template, self.a.database, self.b.database):
            self.postgres.drop(name)  # left by a run that was killed
        self.postgres.create(self.template)
        # The processes boot while the migrations run: none touches its database before
        # it is asked to do something.
        for node in self.nodes:
            node.start_console()
            node.web.start()
            node.start_worker(wait=False)
        self._migrate()
        for node in self.nodes:
            assert node.console is not None
            if node.console.receive(timeout=120) != "ready":
                raise NodeError(f"console {node.name} did not start")
        self._directory()
        for node in self.nodes:
            node.wait_web()
            node.wait_worker()

    def ensure_running(self) -> None:
        """Everything up again as started, whatever a test stopped, paused or changed."""
        if not self.redis.service.running:
            self.redis.start()
        for node in self.nodes:
            node.web.resume()
            if not node.web.running:
                node.start_web()
            for worker in node.workers:
                worker.resume()
            if not node.worker.running or node.worker_overridden:
                node.restart_worker()

    def close(self) -> None:
        """Stop everything, drop both databases, remove the files; each step even if one
        before it failed."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.terminate()
        with contextlib.suppress(Exception):
            self.redis.stop()
        deadline = time.monotonic() + 5
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.finish(deadline=deadline)
        for name in (self.template, self.a.database, self.b.database):
            with contextlib.suppress(Exception):
                self.postgres.drop(name)
        shutil.rmtree(self.root, ignore_errors=True)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far by each part of the pair: the processes of each node's web server,
        worker and console (with their gpg runs), Redis, and the PostgreSQL processes serving
        each node's database. A PostgreSQL process that has ended is not counted: over a
        run, connections opened and closed within it are missed."""
        parts: dict[int, str] = {}
        for node in self.nodes:
            for service in (node.web, *node.workers):
                if service.popen is not None:
                    parts[service.popen.pid] = f"{service.name}"
            if node.console is not None:
                parts[node.console.popen.pid] = f"console {node.name}"
        if self.redis.service.popen is not None:
            parts[self.redis.service.popen.pid] = "redis"
        databases = {node.database: f"postgres {node.name}" for node in self.nodes}
        backends = self.postgres.backends(list(databases))
        used: dict[str, float] = {}
        for pid, (group, seconds) in processes_cpu().items():
            part = parts.get(group) or databases.get(backends.get(pid, ""))
            if part is not None:
                used[part] = used.get(part, 0.0) + seconds
        return used

    def logs(self) -> str:
        """The tail of every log, for a failing test's report."""
        paths = sorted(self.root.glob("*/logs/*.log")) + sorted(self.root.glob("*/*.log"))
        return "\n".join(f"--- {path} ---\n{_log_tail(path, lines=30)}" for path in paths)


def post(url: str, body: bytes, *, timeout: float = 30.0) -> tuple[int, bytes]:
    """POST raw bytes as a node does; the status and the body, whatever the status."""
    request = urllib.request.Request(  # noqa: S310  # the harness's own nodes
        url, data=body, headers={"Content-Type": "application/octet-stream"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
