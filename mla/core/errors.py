from collections.abc import Mapping
from typing import Any


class ApplicationError(Exception):
    """The one domain error: a rule of the system refused what was asked.

    ``message`` is written for the person who asked (it is shown as a form error or in a
    4xx response); ``extra`` carries structured detail (a field name, a list of problems).
    """

    def __init__(self, message: str, *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})

    def __str__(self) -> str:
        return self.message
