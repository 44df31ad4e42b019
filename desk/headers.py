"""Security headers on every response of the desk, and a content security policy on its pages.

The policy allows scripts, styles and calls only from the desk itself and from the chat
widget's origin, never inline script, and no framing (clickjacking on the console).
"""

from __future__ import annotations

from security.asgi import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(widget_origin: str | None, *, inline_styles: bool = False) -> str:
    """The CSP of every desk page (`inline_styles` for a client that injects its CSS)."""
    extra = f" {widget_origin}" if widget_origin else ""
    # socket.io upgrades to a WebSocket on the same origin, which CSP names by its ws scheme.
    sockets = (
        f" ws{widget_origin[4:]}" if widget_origin and widget_origin.startswith("http") else ""
    )
    styles = " 'unsafe-inline'" if inline_styles else ""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self'{extra}",
            f"style-src 'self'{extra}{styles}",
            f"connect-src 'self'{extra}{sockets}",
            "img-src 'self' data: https:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds nosniff and a referrer policy everywhere; CSP and no framing on HTML pages."""

    def __init__(self, app: ASGIApp, widget_origin: str | None) -> None:
        self.app = app
        self.csp = content_security_policy(widget_origin).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {bytes(name).lower() for name, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                content_type = next(
                    (bytes(v) for k, v in headers if bytes(k).lower() == b"content-type"), b""
                )
                if content_type.startswith(b"text/html"):
                    if b"content-security-policy" not in names:  # a page may set its own
                        headers.append((b"content-security-policy", self.csp))
                    headers.append((b"x-frame-options", b"DENY"))
                    if b"cache-control" not in names:
                        headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
