"""The "Next step" box of a request's page as a user meets it: the likely step shown as one
action, and each other step in its own disclosure, with their labels and buttons."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class StepBox:
    name: str
    likely: bool = False  # shown as the one clear action
    disclosure: str | None = None  # the summary of the disclosure it sits in, if any
    button: str = ""
    button_primary: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # control id -> label text
    controls: list[str] = field(default_factory=list)  # ids of the shown controls
    help: list[str] = field(default_factory=list)


@dataclass
class NextStepBox:
    steps: dict[str, StepBox] = field(default_factory=dict)
    primary_buttons: int = 0
    text: str = ""

    @property
    def likely(self) -> str | None:
        return next((name for name, step in self.steps.items() if step.likely), None)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.box = NextStepBox()
        self.depth = 0  # element depth inside the box (0: outside)
        self.likely_depth = 0
        self.summary: str | None = None
        self.in_summary = False
        self.step: StepBox | None = None
        self.collect: str | None = None  # "label:<for>", "button", "help"
        self.buffer = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self.depth == 0:
            if attributes.get("id") == "next-step":
                self.depth = 1
            return
        if tag not in ("input", "br", "meta", "img"):
            self.depth += 1
        if tag == "section" and "step-likely" in classes:
            self.likely_depth = self.depth
        if tag == "details":
            self.summary = ""
        if tag == "summary":
            self.in_summary = True
        if tag == "form" and attributes.get("data-step"):
            name = str(attributes["data-step"])
            self.step = StepBox(
                name=name,
                likely=self.likely_depth > 0,
                disclosure=self.summary or None,
            )
            self.box.steps[name] = self.step
        if self.step is None:
            return
        if tag == "label":
            self.collect, self.buffer = f"label:{attributes.get('for', '')}", ""
        elif tag == "button":
            self.collect, self.buffer = "button", ""
            self.step.button_primary = "primary" in classes
            self.box.primary_buttons += "primary" in classes
        elif tag == "p" and "help" in classes:
            self.collect, self.buffer = "help", ""
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.step.controls.append(str(attributes.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0:
            return
        if tag == "summary":
            self.in_summary = False
        if self.step is not None and self.collect and tag in ("label", "button", "p"):
            text = " ".join(self.buffer.split())
            if self.collect.startswith("label:"):
                self.step.labels[self.collect[6:]] = text
            elif self.collect == "button":
                self.step.button = text
            else:
                self.step.help.append(text)
            self.collect = None
        if tag == "form":
            self.step = None
        if tag == "details":
            self.summary = None
        if tag == "section" and self.likely_depth == self.depth:
            self.likely_depth = 0
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            return
        self.box.text += data
        if self.in_summary and self.summary is not None:
            self.summary = " ".join((self.summary + data).split())
        if self.collect:
            self.buffer += data


def next_step_box(page: str) -> NextStepBox:
    """The box of ``page`` (a request's page), as read: empty if the page has none."""
    reader = _Reader()
    reader.feed(page)
    return reader.box
