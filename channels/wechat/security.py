"""Is a push really from WeChat, and fresh? Signatures, the timestamp window, AES decryption."""

from __future__ import annotations

import binascii
import hmac
import struct
import time
from collections.abc import Mapping

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner

from channels.wechat.errors import RequestRejected


def sign(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted, concatenated parts (token, timestamp, nonce...)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def check_signature(given: str | None, *parts: str) -> None:
    """Refuse a missing or wrong signature; the comparison takes the same time either way."""
    if not given:
        raise RequestRejected(403, "missing signature")
    # compare_digest so that the time taken does not reveal how many characters matched.
    if not hmac.compare_digest(sign(*parts).encode(), given.strip().lower().encode()):
        raise RequestRejected(403, "bad signature")


def check_fresh(timestamp: str | None, window: int, now: float | None = None) -> int:
    """The push's timestamp, refused when missing, malformed or outside the window."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise RequestRejected(400, "missing or malformed timestamp")
    value = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - value) > window:
        raise RequestRejected(403, "stale timestamp")
    return value


def query_value(args: Mapping[str, list[str]], name: str) -> str | None:
    """One query parameter (Sanic gives lists), or None."""
    values = args.get(name)
    if not values:
        return None
    return values[0]


class MessageCrypto:
    """AES mode (安全模式) for one account: decrypts pushes and encrypts passive replies."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id)
        self._token = token
        self._app_id = app_id

    def open(self, encrypted: str, msg_signature: str | None, timestamp: str, nonce: str) -> str:
        """The plaintext of `Encrypt`, after checking msg_signature over it in constant time."""
        check_signature(msg_signature, self._token, timestamp, nonce, encrypted)
        try:
            return str(PrpCrypto(self._crypto.key).decrypt(encrypted, self._app_id))
        except InvalidAppIdException as exc:
            raise RequestRejected(403, "message is for another app") from exc
        except (ValueError, IndexError, struct.error, binascii.Error, UnicodeDecodeError) as exc:
            raise RequestRejected(400, "undecryptable message") from exc

    def seal(self, reply_xml: str, nonce: str) -> str:
        """A passive reply encrypted and signed for WeChat."""
        return str(self._crypto.encrypt_message(reply_xml, nonce))
