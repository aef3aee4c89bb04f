from collections.abc import Mapping
from typing import Any


class ApplicationError(Exception):
    """The one domain error: a rule of the system refused what was asked.

    ``message`` is written for the person who asked (it is shown as a form error or in a
    4xx response); ``extra`` carries structured detail (a field name, a list of problems);
    ``code`` names the rule for a program (the API's problem documents carry it), stable
    across languages and wordings.
    """

    # A subclass names its own rule; "refused" is any rule without a more precise name.
    default_code = "refused"

    def __init__(
        self,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message
