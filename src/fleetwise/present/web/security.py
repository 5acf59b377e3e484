"""The dashboard's safety: security headers on every answer, a bearer token on writes.

The dashboard reads the store for anyone who can reach it (it binds 127.0.0.1 by
default); an endpoint that writes needs ``Authorization: Bearer <FLEETWISE_TOKEN>``, and
without a configured token writing is off altogether.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Response

#: Scripts only from this server (the Vega bundle and app.js, no inline script); Vega
#: evaluates chart expressions with its interpreter, so no 'unsafe-eval' either. Vega
#: sets inline styles on the elements it draws, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def add_security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class TokenGuard:
    """A FastAPI dependency: the request must carry the configured bearer token."""

    def __init__(self, token: str | None) -> None:
        self.token = token or None

    def __call__(self, request: Request) -> None:
        if self.token is None:
            raise HTTPException(
                status_code=403,
                detail="writing is disabled: start the dashboard with FLEETWISE_TOKEN set",
            )
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        # compare_digest: the time taken does not tell how much of a guess was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            raise HTTPException(
                status_code=401,
                detail="a valid 'Authorization: Bearer <token>' header is needed to write",
                headers={"WWW-Authenticate": "Bearer"},
            )
