"""Account administration in tests: the one-time link an e-mail carries."""

import re

from django.core import mail

LINK_PATTERN = re.compile(r"https?://\S+/accounts/link/(?P<token>[^/\s]+)/")


def link_token_from_mail(message: mail.EmailMessage) -> str:
    found = LINK_PATTERN.search(str(message.body))
    assert found, message.body
    return found.group("token")


def link_path_from_mail(message: mail.EmailMessage) -> str:
    return f"/accounts/link/{link_token_from_mail(message)}/"
