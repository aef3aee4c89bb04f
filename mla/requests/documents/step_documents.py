"""The documents that go with a step to the other side's copy of a request: the EIO's Annex B
with its acknowledgement, and an e-Evidence certificate's annexes with their steps (the
addressee's Annex III, the issuing authority's Annexes V and VI)."""

from mla.requests.documents.annex_b import annex_b_step_documents
from mla.requests.documents.eevidence_annexes import annex_step_documents
from mla.requests.lifecycle.channels import StepDocument
from mla.requests.models import Request


def step_documents(*, request: Request, event: str) -> list[StepDocument]:
    """What goes with the step ``event`` just taken on ``request`` (this side's copy)."""
    return [
        *annex_b_step_documents(request=request, event=event),
        *annex_step_documents(request=request, event=event),
    ]
