"""Signals of the directory, for the apps above it (which the directory may not import).

``trust_change_applied`` is sent, inside the transaction that applies it, for every change
to a partner's key or inbox URL that takes effect (approved by a second administrator, or
carried by a signed directory): the exchange tells the staff who deal with that partner.
Receivers take ``change`` (a DirectoryChange) and run in the same transaction.

``trust_changes_proposed`` is sent, inside the transaction that records them, for changes
that wait for a second directory administrator (by the form or by an unsigned import):
the other administrators are told. Receivers take ``changes`` (a list of DirectoryChange).
"""

from django.dispatch import Signal

trust_change_applied = Signal()
trust_changes_proposed = Signal()
