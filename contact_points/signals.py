"""Signals of the directory, for the apps above it (which the directory may not import).

``trust_change_applied`` is sent, inside the transaction that applies it, for every change
to a partner's key or inbox URL that takes effect (approved by a second administrator, or
carried by a signed directory): the exchange tells the staff who deal with that partner.
Receivers take ``change`` (a DirectoryChange) and run in the same transaction.
"""

from django.dispatch import Signal

trust_change_applied = Signal()
