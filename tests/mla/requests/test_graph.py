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


def test_each_side_draws_only_its_own_steps():
    issuing, executing = StringIO(), StringIO()

    call_command("graph_transitions_text", "--side", "issuing", stdout=issuing)
    call_command("graph_transitions_text", "--side", "executing", stdout=executing)

    assert "ready --> sent: send" in issuing.getvalue()
    assert "delivered --> acknowledged: executing side: acknowledged" in issuing.getvalue()
    assert "info_requested --> recognised: executing side: info_answered" in issuing.getvalue()
    assert "acknowledge" not in issuing.getvalue().replace("acknowledged", "")
    assert executing.getvalue().splitlines()[1] == "    [*] --> received"
    assert "received --> acknowledged: acknowledge" in executing.getvalue()
    assert "in_execution --> refused: refuse" in executing.getvalue()
    assert "preserved --> extended: extend_preservation" in executing.getvalue()
    assert "submit" not in executing.getvalue()
