"""Roles are Django groups with fixed names; their permissions are set by a migration."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PROSECUTOR = "prosecutor", _("Prosecutor")
    # A police or other investigating officer whose requests a judicial authority validates
    # (EIO Art. 2(c)(ii)): issues like a prosecutor, in their own authority's name.
    INVESTIGATOR = "investigator", _("Investigator (requests validated by a judicial authority)")
    VALIDATING_AUTHORITY = "validating_authority", _("Validating authority")
    # Works the certificates addressed to a service provider's designated establishment or
    # legal representative (Regulation (EU) 2023/1543): their authority is the addressee.
    PROVIDER_STAFF = "provider_staff", _("Service-provider staff (e-Evidence addressee)")
    CONTACT_POINT_STAFF = "contact_point_staff", _("Contact-point staff (24/7)")
    CENTRAL_AUTHORITY_STAFF = "central_authority_staff", _("Central-authority staff")
    DIRECTORY_ADMINISTRATOR = "directory_administrator", _("Directory administrator")
    AUDITOR = "auditor", _("Auditor (read-only)")
    # Oversees an authority's work: told of missed deadlines, reads its statistics.
    SUPERVISOR = "supervisor", _("Supervisor")
    # Manages the accounts of their own authority: invites, roles, deactivation.
    ACCOUNT_ADMINISTRATOR = "account_administrator", _("Account administrator (own authority)")
    # Runs the node: every authority's accounts, partners, operations, backups.
    NODE_ADMINISTRATOR = "node_administrator", _("Node administrator")


# The roles a user of a service provider's entry may hold: its staff work the orders
# addressed to it, and it manages and audits its own accounts; it issues, validates and
# decides nothing in a State's name.
SERVICE_PROVIDER_ROLES = frozenset(
    {Role.PROVIDER_STAFF.value, Role.ACCOUNT_ADMINISTRATOR.value, Role.AUDITOR.value}
)

DIRECTORY_MODELS = (
    "country",
    "acceptedlanguages",
    "authority",
    "authorityinstrument",
    "contactperson",
)

# Who drafts, submits, sends, withdraws, shares and chases requests in an authority's name
# holds this permission through a role (a group). Prosecutors always do; an administrator
# marks another role as issuing by giving its group this permission in the admin.
ISSUE_REQUEST_PERMISSION = "mla_requests.issue_request"

# Model permissions each role holds (app_label.codename). Everyone may read the directory;
# only directory administrators change it. Request permissions come with the request models.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.PROSECUTOR: [ISSUE_REQUEST_PERMISSION],
    Role.INVESTIGATOR: [ISSUE_REQUEST_PERMISSION],
    Role.DIRECTORY_ADMINISTRATOR: [
        f"contact_points.{action}_{model}"
        for model in DIRECTORY_MODELS
        for action in ("view", "add", "change", "delete")
    ]
    + [
        "contact_points.verify_authority",
        "contact_points.view_language",
        # Changes of key and inbox URL are decided on their own pages, by the service's rules.
        "contact_points.view_directorychange",
    ],
    Role.AUDITOR: [f"contact_points.view_{model}" for model in DIRECTORY_MODELS]
    + ["contact_points.view_language", "contact_points.view_directorychange"],
}
