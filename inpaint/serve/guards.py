"""ASGI middlewares that answer before the app does: the request body's size, the bearer token.

:class:`BodyLimit`: a body over the limit gets 413 JSON. A ``Content-Length`` over it is refused before
one byte of the body is read; a body without one (chunked) is counted as the app reads it and refused
as soon as the count passes the limit. Either way the answer says ``Connection: close``, so that the
server stops reading the rest. (Starlette's own RequestBodyLimitMiddleware, which FastAPI's
``max_body_size`` uses, replaces any answer to an over-long Content-Length by a plain-text 413: not
the ``{"error": ...}`` body this API documents.)

:class:`TokenGuard`: every path but the open ones needs ``Authorization: Bearer TOKEN``. Pure ASGI, so
that it guards every route the app has (the page, the API, the OpenAPI document, unknown paths)
before anything reads the request body. A browser cannot add a header when
it opens the page, so HTTP Basic with the token as the password (any user name) is accepted too: the
401 answer offers both schemes, the browser asks for the password once and sends it again with the
page's own requests. Tokens are compared with :func:`hmac.compare_digest` (constant time).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json

from starlette.exceptions import HTTPException

__all__ = ["BodyLimit", "TokenGuard", "token_matches"]


async def _send_json(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (the app's handler answers 413)."""

    def __init__(self, message: str):
        super().__init__(status_code=413, detail=message, headers={"Connection": "close"})


class BodyLimit:
    """ASGI middleware: 413 ``{"error": message}`` for a request body over ``max_bytes``.

    app: the wrapped ASGI app. max_bytes: the limit. message: the error text (names the option to raise).
    """

    def __init__(self, app, max_bytes: int, message: str):
        self.app, self.max_bytes, self.message = app, max_bytes, message

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            reason = self.message if length.isdigit() else f"bad Content-Length {length!r}"
            await _send_json(send, 413 if length.isdigit() else 400, reason, [(b"connection", b"close")])
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.message)
            return message

        await self.app(scope, counted, send)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def token_matches(authorization: str, token: str) -> bool:
    """True when an ``Authorization`` header value carries ``token`` (Bearer, or Basic's password)."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.encode("utf-8"), token.encode("utf-8"))


class TokenGuard:
    """ASGI middleware: 401 JSON ``{"error": ...}`` unless the request carries the token.

    app: the wrapped ASGI app. token: the secret. open_paths: paths served without it (``/healthz``).
    """

    def __init__(self, app, token: str, open_paths: tuple[str, ...] = ("/healthz",)):
        self.app, self.token, self.open_paths = app, token, open_paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization") or ""
        if authorization and token_matches(authorization, self.token):
            await self.app(scope, receive, send)
            return
        reason = "wrong token" if authorization else "missing token"
        await _send_json(send, 401, f"{reason}: send the header 'Authorization: Bearer TOKEN' (serve --token)",
                         [(b"www-authenticate", b'Bearer realm="inpaint", Basic realm="inpaint"')])
