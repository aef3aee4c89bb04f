from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mla.requests.models import Request


def transitions() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every edge of the request state machine."""
    field = Request._meta.get_field("state")
    edges = set()
    for transition in field.get_all_transitions(Request):
        targets = (
            transition.target.allowed_states
            if hasattr(transition.target, "allowed_states")
            else [transition.target]
        )
        sources = (
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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] == "mermaid":
            self.stdout.write("stateDiagram-v2")
            self.stdout.write("    [*] --> draft")
            for source, target, name in transitions():
                self.stdout.write(f"    {source} --> {target}: {name}")
        else:
            self.stdout.write("digraph request {")
            for source, target, name in transitions():
                self.stdout.write(f'    "{source}" -> "{target}" [label="{name}"];')
            self.stdout.write("}")
