"""WeasyPrint, run in a child process within a time budget.

WeasyPrint cannot be interrupted inside a thread, and some inputs make it slow (layout
time grows with the square of an unbroken token's length). A render therefore runs in a
child process that is killed when the budget (``PDF_RENDER_BUDGET_SECONDS``) runs out, so
a web worker or a task is never held by it. Children are forked from a ``forkserver``
that imported WeasyPrint and parsed the stylesheet once: a child starts warm, without
inheriting the threads, locks or database connections of the process that asked.

This module imports no Django model: the forkserver loads it on its own.
"""

import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.process import AuthenticationString  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML, Attachment, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

ASSETS = (Path(__file__).resolve().parent / "pdf_assets").resolve()


class AssetsOnlyFetcher(URLFetcher):
    """Serves the stylesheet and fonts of pdf_assets/, and nothing else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False, timeout=5)

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.startswith("file:"):
            raise ValueError(f"blocked: {url[:80]}")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not path.is_relative_to(ASSETS):
            raise ValueError(f"blocked local file: {url[:80]}")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class RenderJob:
    html: str
    json_data: bytes
    json_name: str
    json_description: str


class RenderOverBudget(Exception):
    """The render did not finish within its budget and was stopped."""


class RenderFailed(Exception):
    """WeasyPrint raised, or the child process died, while rendering."""


_FONT_CONFIG: FontConfiguration | None = None
_STYLESHEET: CSS | None = None


def _stylesheet() -> tuple[CSS, FontConfiguration]:
    # Parsed once per process (and in the forkserver, so every child has it already).
    global _FONT_CONFIG, _STYLESHEET
    if _STYLESHEET is None or _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
        _STYLESHEET = CSS(
            filename=str(ASSETS / "print.css"),
            font_config=_FONT_CONFIG,
            url_fetcher=AssetsOnlyFetcher(),
        )
    return _STYLESHEET, _FONT_CONFIG


def warm_up() -> None:
    _stylesheet()


def html_to_document(*, html: str) -> Document:
    """The laid-out pages of ``html``: what a render writes, and what tests inspect (rows
    kept whole across pages), here and now."""
    stylesheet, fonts = _stylesheet()
    return HTML(
        string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=AssetsOnlyFetcher()
    ).render(stylesheets=[stylesheet], font_config=fonts, presentational_hints=False)


def _list_each_attachment_once(_document: Document, pdf: Any) -> None:
    """WeasyPrint 70 puts each embedded file twice in the catalogue's associated files
    (/AF): once from the name tree, once from the file specifications. Listed once."""
    files = pdf.catalog.get("AF")
    if files:
        unique = list(dict.fromkeys(files))
        files.clear()
        files.extend(unique)


def render_in_process(job: RenderJob) -> bytes:
    """The PDF/A-3b of ``job``, rendered here and now (no budget)."""
    fetcher = AssetsOnlyFetcher()
    pdf = html_to_document(html=job.html).write_pdf(
        finisher=_list_each_attachment_once,
        pdf_variant="pdf/a-3b",
        attachments=[
            Attachment(
                string=job.json_data,
                name=job.json_name,
                description=job.json_description,
                relationship="Data",
                url_fetcher=fetcher,
            )
        ],
    )
    assert pdf is not None
    return bytes(pdf)


def _child(
    connection: multiprocessing.connection.Connection, job: RenderJob, budget_seconds: float
) -> None:
    # Ended by the kernel (SIGALRM's default action) shortly after the budget even if the
    # process that asked was killed meanwhile and can no longer kill it.
    signal.alarm(math.ceil(budget_seconds) + 5)
    try:
        connection.send(("ok", render_in_process(job)))
    except Exception as error:  # reported to the parent, which raises RenderFailed
        connection.send(("error", f"{type(error).__name__}: {str(error)[:300]}"))
    finally:
        connection.close()


_CONTEXT: Any = None


def _forget_inherited_forkserver() -> None:
    # A process forked from one that had started the forkserver (a Celery pool process, a
    # gunicorn worker) cannot wait on it, not being its parent, and multiprocessing fails
    # with ChildProcessError: it starts one of its own instead.
    server: Any = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        with suppress(OSError):
            os.close(server._forkserver_alive_fd)
    server._forkserver_pid = None
    server._forkserver_address = None
    server._forkserver_alive_fd = None
    server._lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forget_inherited_forkserver)


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["mla.requests.documents.pdf_warm"])
    return _CONTEXT


@contextmanager
def _children_allowed() -> Iterator[None]:
    """Let this process start a render child even when it is daemonic: a Celery prefork
    worker is, and multiprocessing refuses children there lest they outlive it. A render
    child cannot: it is joined or killed before render_within_budget returns, and it ends
    itself by alarm."""
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    # There the process's key is also billiard's kind, which multiprocessing refuses to
    # pass to the forkserver: the same bytes, as multiprocessing's own kind.
    config["authkey"] = AuthenticationString(bytes(config["authkey"]))
    daemonic = config.get("daemon", False)
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemonic


def render_within_budget(job: RenderJob, *, budget_seconds: float) -> bytes:
    """The PDF of ``job``, rendered in a child process that is killed after
    ``budget_seconds``: raises RenderOverBudget then, RenderFailed if the render failed."""
    context = _context()
    receiving, sending = context.Pipe(duplex=False)
    with _children_allowed():
        child = context.Process(target=_child, args=(sending, job, budget_seconds), daemon=True)
        child.start()
    sending.close()  # the child holds its end: EOF here once it exits
    try:
        if not receiving.poll(budget_seconds):
            raise RenderOverBudget(f"not finished within {budget_seconds:g} s")
        try:
            outcome, payload = receiving.recv()
        except EOFError as error:
            raise RenderFailed(f"the renderer stopped (exit code {child.exitcode})") from error
    finally:
        receiving.close()
        if child.is_alive():
            child.kill()
        child.join()
    if outcome != "ok":
        raise RenderFailed(payload)
    return bytes(payload)
