"""The production deployment guide (deploy/README.md), followed by a test as written.

A *guide host* is one node laid out as the guide lays it out, under a temporary directory
instead of the filesystem root: the code in ``opt/mla`` (a clean copy of this checkout: the
files git tracks or would track, nothing built, no ``.env``, no ``var/``), its state in
``var/lib/mla``, its environment file in ``etc/mla/mla.env`` written from
``deploy/mla.env.example``. Its processes are the commands of the systemd units
(``ExecStart=`` of ``deploy/systemd/*.service``, paths mapped), and its administration is
the guide's ``mla-manage`` command lines, taken from the guide's text and run through
``deploy/mla-manage`` itself.

What a test cannot do here (apt, useradd, pip into a virtualenv, nginx, systemctl) is the
host's; ``make test`` installs the same packages, and the copy uses this checkout's
virtualenv.
"""

import getpass
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.nodes import REPO, Service, free_port, wait_for

GUIDE = REPO / "deploy" / "README.md"
UNITS = REPO / "deploy" / "systemd"


def clean_copy(target: Path) -> Path:
    """The checkout's files as a fresh clone of this working tree would hold them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree, not yet committed
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    # Step 3's `pip install` would install exactly this environment again.
    (target / ".venv").symlink_to(REPO / ".venv")
    return target


def _sections(text: str) -> Iterator[tuple[str, str]]:
    """(heading, body) of every Markdown section."""
    parts = re.split(r"(?m)^(#{2,4} .+)$", text)
    for index in range(1, len(parts) - 1, 2):
        yield parts[index].lstrip("#").strip(), parts[index + 1]


def guide_commands(heading: str, *, program: str = "mla-manage") -> list[str]:
    """The ``program`` command lines of the guide's section whose heading contains
    ``heading``, in order: continuation lines joined, comments dropped."""
    for title, body in _sections(GUIDE.read_text()):
        if heading.lower() not in title.lower():
            continue
        commands: list[str] = []
        for block in re.findall(r"(?ms)^\s*```sh\n(.*?)^\s*```", body):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = re.sub(r"\s+#\s.*$", "", line).strip()
                if line.startswith(program + " "):
                    commands.append(line)
        if not commands:
            raise AssertionError(f"The guide's section {title!r} shows no {program} command.")
        return commands
    raise AssertionError(f"The guide has no section titled like {heading!r}.")


@dataclass(frozen=True)
class Unit:
    name: str
    exec_start: list[list[str]]
    environment: dict[str, str]
    oneshot: bool


def unit_read(name: str) -> Unit:
    commands: list[list[str]] = []
    environment: dict[str, str] = {}
    oneshot = False
    for line in (UNITS / f"{name}.service").read_text().splitlines():
        key, _sep, value = line.partition("=")
        if key == "ExecStart":
            # "+": run outside the sandbox (as root): the same command here.
            commands.append(shlex.split(value.lstrip("+-@!").replace("%%", "%")))
        elif key == "Environment":
            variable, _eq, setting = value.partition("=")
            environment[variable] = setting
        elif key == "Type":
            oneshot = value.strip() == "oneshot"
    return Unit(name=name, exec_start=commands, environment=environment, oneshot=oneshot)


def env_file_read(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= (and deploy/mla-manage) read them."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass
class GuideHost:
    """One node installed as the guide says, under ``root``."""

    name: str
    root: Path
    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    services: list[Service] = field(default_factory=list)

    @property
    def code(self) -> Path:
        return self.root / "opt" / "mla"

    @property
    def state(self) -> Path:
        return self.root / "var" / "lib" / "mla"

    @property
    def env_file(self) -> Path:
        return self.root / "etc" / "mla" / "mla.env"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def install(self, *, code: Path | None = None) -> None:
        """Steps 2, 3 and 5: the state directory, the code, the environment file."""
        self.state.mkdir(parents=True)
        self.state.chmod(0o711)
        if code is None:
            clean_copy(self.code)
        else:
            self.code.parent.mkdir(parents=True, exist_ok=True)
            self.code.symlink_to(code)
        self.env_file.parent.mkdir(parents=True)
        self.env_file.write_text(self._env_text())
        self.env_file.chmod(0o640)

    def _env_text(self) -> str:
        """deploy/mla.env.example with this node's values in place of the examples: a
        variable set in the example is replaced where it stands, a commented one
        (``#KEY=``) is set on the line after it, the others are appended."""
        wanted = {"MLA_VAR_DIR": str(self.state), "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        wanted.update(self.settings)
        lines: list[str] = []
        for line in (REPO / "deploy" / "mla.env.example").read_text().splitlines():
            match = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=", line)
            if match and match.group(2) in wanted:
                if match.group(1):
                    lines.append(line)
                lines.append(f"{match.group(2)}={wanted.pop(match.group(2))}")
                continue
            lines.append(line)
        lines += [f"{key}={value}" for key, value in wanted.items()]
        return "\n".join(lines) + "\n"

    def mapped(self, text: str) -> str:
        """A path of the guide, on this host."""
        return (
            text.replace("/etc/mla/mla.env", str(self.env_file))
            .replace("/opt/mla", str(self.code))
            .replace("/var/lib/mla", str(self.state))
        )

    def _unit_env(self, unit: Unit) -> dict[str, str]:
        base = {key: os.environ[key] for key in ("PATH", "LANG", "HOME") if key in os.environ}
        return {**base, **unit.environment, **env_file_read(self.env_file)}

    def manage(
        self, command: str, *, replacements: Mapping[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one ``mla-manage`` line of the guide through deploy/mla-manage."""
        for example, actual in (replacements or {}).items():
            command = command.replace(example, actual)
        argv = shlex.split(self.mapped(command))
        if argv[0] != "mla-manage":
            raise AssertionError(f"Not an mla-manage command: {command}")
        environment = {
            **{key: os.environ[key] for key in ("PATH", "LANG", "HOME") if key in os.environ},
            "MLA_HOME": str(self.code),
            "MLA_ENV_FILE": str(self.env_file),
            "MLA_USER": getpass.getuser(),
        }
        completed = subprocess.run(
            [str(self.code / "deploy" / "mla-manage"), *argv[1:]],
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{self.name}: {command} exited with {completed.returncode}\n"
                f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
            )
        return completed

    def run_unit(self, name: str) -> None:
        """A oneshot unit's commands, in order (mla-migrate)."""
        unit = unit_read(name)
        assert unit.oneshot, name
        for argv in unit.exec_start:
            completed = subprocess.run(
                [self.mapped(part) for part in argv],
                cwd=self.code,
                env=self._unit_env(unit),
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if completed.returncode != 0:
                raise AssertionError(
                    f"{self.name} {name}: {shlex.join(argv)} exited with "
                    f"{completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
                )

    def start_unit(self, name: str) -> Service:
        unit = unit_read(name)
        (argv,) = unit.exec_start
        service = Service(
            f"{self.name}-{name}",
            [self.mapped(part) for part in argv],
            env=self._unit_env(unit),
            log=self.root / f"{name}.log",
            cwd=self.code,
        )
        self.services.append(service.start())
        return service

    def wait_until_serving(self) -> None:
        import urllib.request

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as reply:  # noqa: S310
                    return bool(reply.status == 200)
            except OSError:
                return False

        for service in self.services:
            if not service.running:
                raise service.failure("stopped")
        wait_for(answers, timeout=60, what=f"{self.name}'s /healthz")

    def logs(self) -> str:
        return "\n".join(
            f"--- {service.name} ---\n{service.output()[-3000:]}" for service in self.services
        )

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop(timeout=10)
        self.services.clear()
