from io import StringIO

from django.core.management import call_command


def test_the_state_machine_diagram_lists_every_transition():
    out = StringIO()

    call_command("graph_transitions_text", stdout=out)

    diagram = out.getvalue()
    assert diagram.startswith("stateDiagram-v2")
    for edge in (
        "draft --> awaiting_validation: submit",
        "draft --> ready: submit",
        "awaiting_validation --> ready: validate",
        "awaiting_validation --> draft: return_for_changes",
        "ready --> withdrawn: withdraw",
    ):
        assert edge in diagram
