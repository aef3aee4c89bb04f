from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mla.requests import models
from mla.requests.lifecycle.counterpart import FOLLOWS
from mla.requests.models import Request

State = Request.State

# Where the issuing copy goes back to when the executing side resumes (see counterpart).
RESUMED_TO = {
    "resumed": (State.RECOGNISED, State.IN_EXECUTION),
    "info_answered": (State.DELIVERED, State.ACKNOWLEDGED, State.RECOGNISED, State.IN_EXECUTION),
}


def _side(transition: Any) -> str:
    conditions = transition.conditions or []
    if models._incoming in conditions:
        return "executing"
    if models._outgoing in conditions:
        return "issuing"
    return "both"


def transitions(side: str = "both") -> list[tuple[str, str, str]]:
    """(source, target, step) for every edge of the request state machine.

    The issuing copy's steps taken on the executing side's report are drawn from the table
    that allows them (counterpart.FOLLOWS), labelled "executing side: <event>"."""
    field = Request._meta.get_field("state")
    edges = set()
    for transition in field.get_all_transitions(Request):
        if side != "both" and _side(transition) != side:
            continue
        if transition.name == "follow_executing_side":
            for event, (target, reported_from) in FOLLOWS.items():
                resumed: tuple[str, ...] = RESUMED_TO.get(event, (target,))
                for source in reported_from:
                    for to in resumed:
                        edges.add((str(source), str(to), f"executing side: {event}"))
            continue
        targets: list[str] = (
            list(transition.target.allowed_states)
            if hasattr(transition.target, "allowed_states")
            else [transition.target]
        )
        sources: list[str] = (
            [transition.source]
            if transition.source != "*"
            else [s for s, _l in Request.State.choices]
        )
        for source in sources:
            for target in targets:
                edges.add((str(source), str(target), transition.name))
    return sorted(edges)


class Command(BaseCommand):
    help = (
        "Draw the request state machine as a Mermaid or Graphviz DOT diagram (no graphviz needed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
        parser.add_argument(
            "--side",
            choices=["both", "issuing", "executing"],
            default="both",
            help="The issuing authority's copy, the executing authority's, or both.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        edges = transitions(options["side"])
        start = State.RECEIVED if options["side"] == "executing" else State.DRAFT
        if options["format"] == "mermaid":
            self.stdout.write("stateDiagram-v2")
            self.stdout.write(f"    [*] --> {start}")
            for source, target, name in edges:
                self.stdout.write(f"    {source} --> {target}: {name}")
        else:
            self.stdout.write("digraph request {")
            for source, target, name in edges:
                self.stdout.write(f'    "{source}" -> "{target}" [label="{name}"];')
            self.stdout.write("}")
