"""Widget tokens: only the channel's secret makes one, and only until it expires."""

from __future__ import annotations

import base64
import json

import pytest

from channels.web.tokens import (
    SENDER_ID,
    ExpiredToken,
    ForgedToken,
    MissingToken,
    TokenSigner,
    bearer_token,
    new_visitor_id,
)

SECRET = "unit-test-secret"


def test_a_token_names_the_sender_it_was_issued_for() -> None:
    signer = TokenSigner(SECRET, ttl_seconds=600, clock=lambda: 1_000_000.0)
    token, claims = signer.issue("wx-o7Xh2-vip")
    verified = signer.verify(token)
    assert verified.sender_id == "wx-o7Xh2-vip"
    assert verified.expires_at == 1_000_600 == claims.expires_at


def test_changing_the_sender_inside_a_token_breaks_its_signature() -> None:
    signer = TokenSigner(SECRET)
    token, _ = signer.issue("web-visitor-a")
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "wx-o7Xh2-vip"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(ForgedToken):
        signer.verify(f"{version}.{forged_payload}.{signature}")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token, _ = TokenSigner("someone-elses-secret").issue("web-visitor-a")
    with pytest.raises(ForgedToken):
        TokenSigner(SECRET).verify(token)


@pytest.mark.parametrize("token", ["garbage", "v1.x.y", "v2.a.b", "v1..", "a.b.c.d", "v1.e30.%%%"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ForgedToken):
        TokenSigner(SECRET).verify(token)


def test_no_token_is_reported_as_missing() -> None:
    with pytest.raises(MissingToken):
        TokenSigner(SECRET).verify(None)


def test_a_token_expires_after_its_lifetime() -> None:
    now = [1_000_000.0]
    signer = TokenSigner(SECRET, ttl_seconds=60, clock=lambda: now[0])
    token, _ = signer.issue("web-visitor-a")
    now[0] += 59
    assert signer.verify(token).sender_id == "web-visitor-a"
    now[0] += 1
    with pytest.raises(ExpiredToken):
        signer.verify(token)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenSigner("")


@pytest.mark.parametrize("sender", ["", "a b", "x" * 65, "<script>", "web/../x"])
def test_only_valid_customer_ids_get_a_token(sender: str) -> None:
    with pytest.raises(ValueError):
        TokenSigner(SECRET).issue(sender)


def test_new_visitors_get_distinct_valid_ids() -> None:
    ids = {new_visitor_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(SENDER_ID.match(i) and i.startswith("web-") for i in ids)


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("", None), (None, None)],
)
def test_bearer_token_reads_the_authorization_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
