"""`make run`: what it runs with the HOST and PORT it is given (make -n: printed, not run)."""

import subprocess

from django.conf import settings


def _run_recipe(*variables: str) -> list[str]:
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *variables],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    # A recipe line continued with a backslash is one command.
    return printed.replace("\\\n", " ").splitlines()


def _line(lines: list[str], command: str) -> str:
    return next(line for line in lines if f"manage.py {command}" in line)


def test_make_run_links_to_the_address_it_serves():
    lines = _run_recipe("HOST=127.0.0.1", "PORT=8300")

    # The e-mails' links (SITE_URL) name the port served, in the server and the demo set-up.
    assert "SITE_URL='http://127.0.0.1:8300'" in _line(lines, "runserver")
    assert "127.0.0.1:8300" in _line(lines, "runserver").split("runserver", 1)[1]
    assert "SITE_URL='http://127.0.0.1:8300'" in _line(lines, "demo_setup")
    # An address of the environment's own is kept.
    lines = _run_recipe("PORT=8300", "SITE_URL=https://demo.example")
    assert "SITE_URL='https://demo.example'" in _line(lines, "runserver")


def test_make_run_stops_the_gpg_agents_when_the_server_stops():
    runserver = _line(_run_recipe(), "runserver")

    assert runserver.startswith("trap ")
    assert "demo_gpg_stop" in runserver.split(";", 1)[0]
