"""Security headers on every answer of the portal (an ASGI middleware for ``st.App``)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No script-src: Streamlit's bundle and the srcdoc frames (which inherit this policy) need their
# own scripts; what the policy adds is that no other site may frame the portal, and that no
# <base> or <object> injected into a page could redirect it.
POLICY = "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_NAMES = {name for name, _ in HEADERS}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _NAMES]
                message["headers"] = kept + HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)
