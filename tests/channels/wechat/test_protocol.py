"""The published WeChat sample vectors: the tests' protocol and the channel's crypto agree."""

from __future__ import annotations

import pytest

from channels.wechat.errors import RequestRejected
from channels.wechat.payload import parse_document
from channels.wechat.security import MessageCrypto
from tests.channels.wechat import protocol

# The sample of WeChat's "消息加解密接入指引" (its Python/C++/PHP sample code).
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_TOKEN = "spamtest"
SAMPLE_APP_ID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
# The Java sample's encryption check: a fixed random part gives a fixed ciphertext.
JAVA_APP_ID = "wxb11529c136998cb6"
JAVA_RANDOM = b"aaaabbbbccccdddd"
JAVA_MESSAGE = "我是中文abcd123"
JAVA_ENCRYPTED = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)


def test_reference_signature_matches_the_sample() -> None:
    signature = protocol.signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    assert signature == SAMPLE_MSG_SIGNATURE


def test_reference_decrypts_the_sample() -> None:
    message, app_id = protocol.decrypt(SAMPLE_KEY, SAMPLE_ENCRYPT)
    assert app_id == SAMPLE_APP_ID
    assert "<Content><![CDATA[abcdteT]]></Content>" in message


def test_reference_encrypts_like_the_sample() -> None:
    encrypted = protocol.encrypt(SAMPLE_KEY, JAVA_MESSAGE, JAVA_APP_ID, JAVA_RANDOM)
    assert encrypted == JAVA_ENCRYPTED


def test_channel_opens_the_sample_push() -> None:
    crypto = MessageCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APP_ID)
    plaintext = crypto.open(SAMPLE_ENCRYPT, SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE)
    fields = parse_document(plaintext)
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["Content"] == "abcdteT"
    assert fields["MsgId"] == "6054768590064713728"


def test_channel_refuses_the_sample_with_a_wrong_signature_or_app() -> None:
    crypto = MessageCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APP_ID)
    forged = "0" + SAMPLE_MSG_SIGNATURE[1:]
    with pytest.raises(RequestRejected) as refused:
        crypto.open(SAMPLE_ENCRYPT, forged, SAMPLE_TIMESTAMP, SAMPLE_NONCE)
    assert refused.value.status == 403
    other_app = MessageCrypto(SAMPLE_TOKEN, SAMPLE_KEY, "wx0000000000000000")
    with pytest.raises(RequestRejected) as refused:
        other_app.open(SAMPLE_ENCRYPT, SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE)
    assert refused.value.status == 403


def test_channel_replies_are_readable_by_the_reference() -> None:
    crypto = MessageCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APP_ID)
    sealed = crypto.seal("<xml><Content><![CDATA[您好]]></Content></xml>", "777")
    account = protocol.Account(SAMPLE_TOKEN, SAMPLE_APP_ID, SAMPLE_KEY)
    assert account.read_reply(sealed) == {"Content": "您好"}
