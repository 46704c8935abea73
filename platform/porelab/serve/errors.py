"""The one error type of the HTTP service: a PorelabError that knows its HTTP status."""

from __future__ import annotations

from porelab.errors import PorelabError


class RequestError(PorelabError):
    """A request the service refuses; `status` is the 4xx/5xx code the client receives with the
    message; `retry_after_s`, when set, goes out as the Retry-After header."""

    def __init__(self, message: str, status: int = 422, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.retry_after_s = retry_after_s
