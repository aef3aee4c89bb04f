"""Where WeasyPrint placed a document's elements: the page each element starts on."""

from typing import Any

from weasyprint import Document


def page_spans(document: Document) -> dict[Any, tuple[int, int]]:
    """Each HTML element laid out, with the first and last page (from 1) it is on."""
    spans: dict[Any, tuple[int, int]] = {}
    for number, page in enumerate(document.pages, start=1):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None:
                spans[element] = (spans.get(element, (number, number))[0], number)
    return spans


def _classes(element: Any) -> set[str]:
    return set((element.get("class") or "").split())


def split_rows(document: Document) -> list[str]:
    """Rows whose label ends a page while their value starts on the next, and titles left
    at a page's foot with what they head on the next page; as readable strings."""
    spans = page_spans(document)
    pages = {element: first for element, (first, _last) in spans.items()}
    parent: dict[Any, Any] = {}
    following: dict[Any, Any] = {}
    for element in pages:
        children = list(element)
        for child, after in zip(children, [*children[1:], None], strict=False):
            parent[child] = element
            following[child] = after
    problems = []
    for element, page in pages.items():
        if "doc-entry" in _classes(element) and "doc-long" not in _classes(element):
            # A row other than long free text is on one page, its label with its value.
            label = next(iter(element))
            if spans[element][1] != page:
                problems.append(f"row split p.{page}: {''.join(label.itertext())[:60]}")
        if element.tag in ("h2", "h3", "h4"):
            # What the title heads: its next sibling, or its parent's when it ends it.
            headed = following.get(element)
            if headed is None and element in parent:
                headed = following.get(parent[element])
            if headed is not None and headed in pages and pages[headed] != page:
                problems.append(f"title p.{page}: {''.join(element.itertext())[:60]}")
    return problems
