"""A fake WeChat API server on loopback that records what the channel sends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A 1x1 PNG, for images the assistant sends.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class FakeWeChat:
    """Token endpoint, custom/send, media/upload and an image; errors can be scripted."""

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.sent: list[dict[str, Any]] = []
        self.send_attempts: list[dict[str, Any]] = []
        self.token_requests = 0
        self.uploads = 0
        # errcodes custom/send answers with, first in first out; then success.
        self.send_errors: list[int] = []
        # An errcode custom/send answers with on every call (e.g. 45015).
        self.always_error: int | None = None
        self.tokens_issued: list[str] = []
        # Tokens issued before this index count as expired.
        self.valid_from = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL to give the channel as WECHAT_API_BASE_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWeChat:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (WeChat answers 42001/40001)."""
        with self._lock:
            self.valid_from = len(self.tokens_issued)

    def sent_to(self, openid: str) -> list[dict[str, Any]]:
        """Messages accepted for one customer, in order."""
        with self._lock:
            return [message for message in self.sent if message.get("touser") == openid]

    def wait_for(self, openid: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until `count` messages reached `openid` (returns what arrived by the deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.sent_to(openid)
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        return self.sent_to(openid)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == "/cgi-bin/token":
                    self._token(query)
                elif url.path.startswith("/images/"):
                    self._reply(200, PNG, "image/png")
                else:
                    self._json({"errcode": 404, "errmsg": "not found"}, status=404)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                token = query.get("access_token", [""])[0]
                with fake._lock:
                    valid = token in fake.tokens_issued[fake.valid_from :][-2:]
                if url.path == "/cgi-bin/message/custom/send":
                    self._send(json.loads(body.decode()), valid)
                elif url.path == "/cgi-bin/media/upload":
                    with fake._lock:
                        fake.uploads += 1
                    if not valid:
                        self._json({"errcode": 40001, "errmsg": "invalid credential"})
                    else:
                        media_id = f"media-{fake.uploads}"
                        self._json({"type": "image", "media_id": media_id, "created_at": 1})
                else:
                    self._json({"errcode": 404, "errmsg": "not found"}, status=404)

            def _token(self, query: dict[str, list[str]]) -> None:
                appid = query.get("appid", [""])[0]
                secret = query.get("secret", [""])[0]
                if (appid, secret) != (fake.app_id, fake.app_secret):
                    self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                    return
                with fake._lock:
                    fake.token_requests += 1
                    token = f"token-{fake.token_requests}"
                    fake.tokens_issued.append(token)
                self._json({"access_token": token, "expires_in": 7200})

            def _send(self, message: dict[str, Any], valid_token: bool) -> None:
                with fake._lock:
                    fake.send_attempts.append(message)
                    if not valid_token:
                        error: int | None = 40001
                    elif fake.send_errors:
                        error = fake.send_errors.pop(0)
                    else:
                        error = fake.always_error
                    if error is None:
                        fake.sent.append(message)
                if error is None:
                    self._json({"errcode": 0, "errmsg": "ok"})
                else:
                    self._json({"errcode": error, "errmsg": f"error {error}"})

            def _json(self, document: dict[str, Any], status: int = 200) -> None:
                self._reply(status, json.dumps(document).encode(), "application/json")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextmanager
def running_fake(app_id: str, app_secret: str) -> Iterator[FakeWeChat]:
    """A started fake, stopped afterwards."""
    fake = FakeWeChat(app_id, app_secret).start()
    try:
        yield fake
    finally:
        fake.stop()
