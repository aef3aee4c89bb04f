"""How a step reaches the other side's copy of a request: the lifecycle's port.

A request has two copies, the issuing side's and the executing side's, each with its own
state, timeline and deadlines. When the other side's authority is served on this node, its
copy is here and a step is recorded on it in the step's own transaction
(mla.requests.lifecycle.counterpart, the local channel). When it is served elsewhere, the
step leaves through the remote channel, a transport another app provides and registers
when Django starts (the exchange does, in its AppConfig.ready). The requests code never
imports that app. With no remote channel registered, nothing leaves this node: the step
stays recorded here and a warning is logged.

``authority_served_here`` is the one place that decides which route a request takes.
"""

import datetime
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from contact_points.models import Authority
from mla.requests.models import Request

logger = logging.getLogger(__name__)


def authority_served_here(*, authority: Authority) -> bool:
    """Whether the authority works on this node (it has active users here): its copy of a
    request is kept here, and steps reach it in the same transaction."""
    return authority.users.filter(is_active=True).exists()


@dataclass(frozen=True)
class StepDocument:
    """A document that goes with a step to the other side (the EIO's Annex B with its
    acknowledgement, an e-Evidence certificate's Annex III, V or VI with its step)."""

    name: str
    media_type: str
    content: bytes


class RemoteChannel(Protocol):
    """What the lifecycle asks of a transport to another node. Each call runs inside the
    step's transaction: what it sends must leave only once that commits."""

    def request_deliver(self, *, request: Request, sent_by: str) -> None:
        """Send ``request`` (the issuing copy) to its executing authority on another node,
        on behalf of ``sent_by``. Raises ApplicationError when it cannot be sent."""

    def step_tell(
        self,
        *,
        request: Request,
        from_executing_side: bool,
        acted_by: str,
        event: str,
        note: str,
        payload: dict[str, Any] | None,
        documents: list[StepDocument],
        at: datetime.datetime,
    ) -> None:
        """Tell the other side's node of a step taken on ``request`` (this side's copy)."""

    def request_transmitted(self, *, request: Request) -> bool:
        """Whether ``request`` left this node through this channel: the executing side's
        copy is on another node."""

    def document_received(self, *, request: Request, name: str) -> bytes | None:
        """A document the other side sent with one of its steps on ``request``, as received
        and verified; None when none came by this channel."""


class _Unconnected:
    """The remote channel of a node with no transport installed: nothing leaves."""

    def request_deliver(self, *, request: Request, sent_by: str) -> None:
        logger.warning(
            "Request %s stays sent: no channel to other nodes is installed.", request.reference
        )

    def step_tell(
        self,
        *,
        request: Request,
        from_executing_side: bool,
        acted_by: str,
        event: str,
        note: str,
        payload: dict[str, Any] | None,
        documents: list[StepDocument],
        at: datetime.datetime,
    ) -> None:
        logger.warning(
            "Step %s of %s is not sent: no channel to other nodes is installed.",
            event,
            request.reference,
        )

    def request_transmitted(self, *, request: Request) -> bool:
        return False

    def document_received(self, *, request: Request, name: str) -> bytes | None:
        return None


_remote: list[RemoteChannel] = [_Unconnected()]


def remote_channel_register(channel: RemoteChannel) -> None:
    """Make ``channel`` the route to authorities served on other nodes (once, at start-up)."""
    _remote[0] = channel


def remote_channel() -> RemoteChannel:
    return _remote[0]
