"""Log lines never carry a customer's phone or card number; secrets are checked and compared."""

from __future__ import annotations

import io
import logging

import pytest

from security.logs import install_log_masking
from security.tokens import SecretError, bearer_token, require_secret, same_secret


def test_log_records_are_masked_whoever_writes_them() -> None:
    install_log_masking()
    install_log_masking()  # twice is harmless
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("message from %s: %s", "wx-1", "我电话13812345678 卡号6222021234567890123")
        try:
            raise RuntimeError("GET /orders?text=送到北京市朝阳区建国路88号 failed")
        except RuntimeError:
            logger.exception("call failed for %s", "13900001111")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "13812345678" not in written and "138****5678" in written
    assert "6222021234567890123" not in written
    assert "建国路88号" not in written and "北京市朝阳区****" in written
    assert "13900001111" not in written and "RuntimeError" in written


def test_secrets_must_be_set_and_not_placeholders() -> None:
    assert require_secret("MALL_API_TOKEN", "  k3y-" + "x" * 20 + " ") == "k3y-" + "x" * 20
    for weak in ("", None, "changeme", "tiny1"):
        with pytest.raises(SecretError, match="MALL_API_TOKEN") as refused:
            require_secret("MALL_API_TOKEN", weak)
        if weak:
            assert weak not in str(refused.value)  # the value itself is never repeated


def test_bearer_tokens_are_read_and_compared() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token(None) is None
    assert same_secret("abc", "abc") and not same_secret("abd", "abc")
    assert not same_secret(None, "abc") and not same_secret("", "")


def test_escaped_and_url_encoded_words_are_masked_too() -> None:
    import json

    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.masking.escaped")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # Rasa's JSON log lines escape Chinese; URLs percent-encode it.
        logger.info(json.dumps({"text": "我电话13812345678", "quote": 'a"b\n'}))
        logger.info("GET /products/match?text=%E6%88%9113812345678")
        logger.info("nothing personal: %s", json.dumps({"text": "你好"}))
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert "13812345678" not in stream.getvalue()
    assert json.loads(lines[0]) == {"text": "我电话138****5678", "quote": 'a"b\n'}
    assert lines[1] == "GET /products/match?text=我138****5678"
    assert lines[2] == 'nothing personal: {"text": "\\u4f60\\u597d"}'  # left as it was
