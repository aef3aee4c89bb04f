"""WeasyPrint in a child process, stopped when its budget runs out."""

import multiprocessing

import pytest

from mla.requests.documents.pdf_engine import (
    RenderJob,
    RenderOverBudget,
    render_within_budget,
)
from tests.support.pdf import pdf_tool

# An unbreakable token that may break anywhere: WeasyPrint lays it out in time growing with
# the square of its length (minutes for this one), the case the budget is for.
STALLING_HTML = "<div style='width: 80mm; overflow-wrap: anywhere'>" + "x" * 200_000 + "</div>"


def _job(html: str) -> RenderJob:
    return RenderJob(html, b"{}", "request.json", "Structured request data (JSON)")


def test_a_render_within_its_budget_gives_the_pdf(tmp_path):
    pdf = render_within_budget(_job("<p>Ordinary text</p>"), budget_seconds=300)

    assert "Ordinary text" in pdf_tool("pdftotext", pdf, tmp_path)
    assert "request.json" in pdf_tool("pdfdetach", pdf, tmp_path, "-list")


def test_a_render_over_its_budget_is_stopped_and_its_process_ended():
    with pytest.raises(RenderOverBudget, match="not finished within 1 s"):
        render_within_budget(_job(STALLING_HTML), budget_seconds=1)

    assert multiprocessing.active_children() == []


def _render_in(outcomes) -> None:
    try:
        pdf = render_within_budget(_job("<p>In a worker</p>"), budget_seconds=300)
        outcomes.put(("ok", pdf[:5]))
    except Exception as error:  # reported to the test
        outcomes.put(("error", repr(error)))


def test_a_celery_prefork_worker_may_render():
    # Its pool processes are billiard's and daemonic, where multiprocessing refuses children.
    import billiard

    outcomes = billiard.Queue()
    worker = billiard.Process(target=_render_in, args=(outcomes,), daemon=True)
    worker.start()
    outcome = outcomes.get(timeout=300)
    worker.join()

    assert outcome == ("ok", b"%PDF-")
