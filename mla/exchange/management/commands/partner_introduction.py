from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from contact_points.services import directory_change_approve, directory_change_reject
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.exchange.introduction import (
    MAX_INTRODUCTION_BYTES,
    Comparison,
    hosted_authorities,
    introduction_compare,
    introduction_export,
    introduction_pending_change,
    introduction_propose,
    introduction_read,
    introduction_take_in,
)


class Command(BaseCommand):
    help = (
        "Introduce this node to a partner: export our signed introduction, review a partner's "
        "beside our directory, propose the fingerprints confirmed over the phone, and approve "
        "them as a second administrator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = actions.add_parser("export", help="Write our signed introduction.")
        export.add_argument("-o", "--output", required=True, help="The file to write.")
        review = actions.add_parser(
            "review", help="Verify a partner's introduction and show it beside our directory."
        )
        review.add_argument("file")
        propose = actions.add_parser(
            "propose",
            help="Take a partner's introduction in and propose the confirmed keys (four eyes).",
        )
        propose.add_argument("file")
        propose.add_argument(
            "--confirmed",
            nargs="+",
            required=True,
            metavar="FINGERPRINT",
            help="Each fingerprint the partner read aloud over the phone (quote it if spaced).",
        )
        propose.add_argument(
            "--spoke-with", required=True, help="Whom you spoke to at the partner."
        )
        propose.add_argument("--actor", required=True, help="Your username.")
        for name, text in (
            ("approve", "Approve, as the second administrator, what an introduction proposed."),
            ("reject", "Reject what an introduction proposed for an authority."),
        ):
            decide = actions.add_parser(name, help=text)
            decide.add_argument("identifier", help="Directory identifier of the authority.")
            decide.add_argument("--actor", required=True, help="Your username.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "export":
                Path(options["output"]).write_bytes(introduction_export())
                # What the administrator reads aloud to the partner over the phone.
                for authority in hosted_authorities():
                    self.stdout.write(f"{authority.identifier}: {authority.fingerprint_groups}")
                self.stdout.write(
                    _("Introduction written to %(path)s.") % {"path": options["output"]}
                )
            elif action == "review":
                self._review(self._read(options["file"]))
            elif action == "propose":
                self._propose(options)
            else:
                change = introduction_pending_change(identifier=options["identifier"])
                actor = self._actor(options["actor"])
                if action == "approve":
                    directory_change_approve(change=change, actor=actor)
                    self.stdout.write(
                        _("The key %(fingerprint)s of %(authority)s is now pinned.")
                        % {
                            "fingerprint": change.new_fingerprint_groups,
                            "authority": change.authority.identifier,
                        }
                    )
                else:
                    directory_change_reject(change=change, actor=actor)
                    self.stdout.write(
                        _("Rejected; %(authority)s keeps its key and inbox URL.")
                        % {"authority": change.authority.identifier}
                    )
        except ApplicationError as error:
            raise CommandError(error.message) from error

    def _read(self, path: str) -> bytes:
        try:
            with Path(path).open("rb") as handle:
                return handle.read(MAX_INTRODUCTION_BYTES + 1)
        except OSError as error:
            raise CommandError(
                _("The file %(path)s cannot be read: %(error)s")
                % {"path": path, "error": error.strerror}
            ) from error

    def _actor(self, username: str) -> User:
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(_("No active user named “%(username)s”.") % {"username": username})
        assert isinstance(actor, User)
        return actor

    def _review(self, content: bytes) -> None:
        introduction = introduction_read(content=content)
        self.stdout.write(
            _("Introduction of %(node)s (%(url)s), made %(made)s; every signature is good.")
            % {
                "node": introduction.node_name,
                "url": introduction.node_base_url,
                "made": introduction.made_at.isoformat(),
            }
        )
        rows = introduction_compare(introduction=introduction)
        for row in rows:
            introduced = row.introduced
            self.stdout.write("")
            self.stdout.write(
                f"{introduced.identifier} — {introduced.name} ({introduced.country.code}): "
                f"{row.comparison.label}"
            )
            ours_key = row.current_fingerprint_groups or "—"
            ours_url = (row.current.inbox_url if row.current else "") or "—"
            self.stdout.write(
                f"  {_('fingerprint'):<12} {_('file'):>5}: {introduced.fingerprint_groups}"
            )
            self.stdout.write(f"  {'':<12} {_('ours'):>5}: {ours_key}")
            self.stdout.write(f"  {_('inbox URL'):<12} {_('file'):>5}: {introduced.inbox_url}")
            self.stdout.write(f"  {'':<12} {_('ours'):>5}: {ours_url}")
            if row.pending is not None:
                self.stdout.write(
                    "  " + _("A change awaits approval already; a new proposal replaces it.")
                )
            if row.pinned_elsewhere is not None:
                self.stdout.write(
                    "  "
                    + _("This key is pinned for %(other)s in our directory: it cannot be proposed.")
                    % {"other": row.pinned_elsewhere.identifier}
                )
        if any(row.comparison != Comparison.UNCHANGED for row in rows):
            self.stdout.write("")
            self.stdout.write(
                _(
                    "Call the partner, have them read each fingerprint aloud, and propose the "
                    "ones that match: partner_introduction propose FILE --confirmed FINGERPRINT "
                    "--spoke-with NAME --actor USERNAME"
                )
            )

    def _propose(self, options: dict[str, Any]) -> None:
        actor = self._actor(options["actor"])
        content = self._read(options["file"])
        # One step on the command line: a refused proposal keeps no trace of the file either.
        with transaction.atomic():
            taken_in = introduction_take_in(content=content, actor=actor)
            confirmations = introduction_propose(
                introduction=taken_in,
                confirmed=options["confirmed"],
                spoke_with=options["spoke_with"],
                actor=actor,
            )
        for confirmation in confirmations:
            if confirmation.change is None:
                line = _("%(authority)s: already in our directory as confirmed; nothing to change.")
            else:
                line = _(
                    "%(authority)s: proposed; another administrator approves it "
                    "(partner_introduction approve %(authority)s --actor USERNAME, or the "
                    "approval page)."
                )
            self.stdout.write(line % {"authority": confirmation.authority.identifier})
