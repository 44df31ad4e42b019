"""WeChat's push protocol written from the published algorithm, independent of the channel.

Tests build pushes the way WeChat's servers do and read the channel's passive replies with it:
SHA1 of the sorted token/timestamp/nonce(/encrypt); AES-256-CBC with key =
base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32 bytes, plaintext =
random(16) + msg_len(4, network order) + msg + appid.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


def signature(*parts: str) -> str:
    """SHA1 hex of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind the console's 43-character EncodingAESKey."""
    return base64.b64decode(encoding_aes_key + "=")


def encrypt(encoding_aes_key: str, message: str, app_id: str, random16: bytes | None = None) -> str:
    """Base64 of AES-CBC(random + length + message + appid, PKCS#7 to 32 bytes)."""
    key = aes_key(encoding_aes_key)
    body = message.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, encrypted: str) -> tuple[str, str]:
    """(message, appid) from an encrypted field."""
    key = aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    length = struct.unpack(">I", plain[16:20])[0]
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def xml_document(fields: dict[str, Any]) -> str:
    """A flat WeChat XML document (text in CDATA, numbers bare)."""
    items = []
    for name, value in fields.items():
        if isinstance(value, int):
            items.append(f"<{name}>{value}</{name}>")
        else:
            items.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(items) + "</xml>"


def read_xml(document: str) -> dict[str, str]:
    """The top-level fields of an XML document."""
    root = ET.fromstring(document)
    return {child.tag: (child.text or "") for child in root}


@dataclass
class Account:
    """One official account or mini-program as WeChat's servers know it."""

    token: str
    app_id: str
    encoding_aes_key: str | None = None
    original_id: str = "gh_0123456789ab"

    def message(self, openid: str, msg_type: str = "text", **fields: Any) -> dict[str, Any]:
        """The fields of a customer message (a fresh MsgId unless given)."""
        document: dict[str, Any] = {
            "ToUserName": self.original_id,
            "FromUserName": openid,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
        }
        document.update(fields)
        if msg_type != "event" and "MsgId" not in fields:
            document["MsgId"] = int.from_bytes(os.urandom(7), "big")
        return document

    def push(
        self,
        fields: dict[str, Any],
        *,
        as_json: bool = False,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """(query parameters, body) of the POST WeChat makes for `fields`."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        plain = json.dumps(fields, ensure_ascii=False) if as_json else xml_document(fields)
        query = {
            "signature": signature(self.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "openid": str(fields.get("FromUserName", "")),
        }
        if self.encoding_aes_key is None:
            return query, plain.encode()
        encrypted = encrypt(self.encoding_aes_key, plain, self.app_id)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(self.token, stamp, nonce, encrypted)
        envelope: dict[str, Any] = {"ToUserName": self.original_id, "Encrypt": encrypted}
        body = json.dumps(envelope) if as_json else xml_document(envelope)
        return query, body.encode()

    def verification(self, echostr: str = "echo-4242") -> dict[str, str]:
        """The query of the console's server verification GET."""
        stamp = str(int(time.time()))
        nonce = "83920175"
        return {
            "signature": signature(self.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": echostr,
        }

    def read_reply(self, body: str) -> dict[str, str]:
        """The fields of a passive reply, checking its signature and decrypting in safe mode."""
        document = read_xml(body)
        if self.encoding_aes_key is None:
            return document
        expected = signature(
            self.token, document["TimeStamp"], document["Nonce"], document["Encrypt"]
        )
        assert document["MsgSignature"] == expected, "passive reply signed wrongly"
        message, app_id = decrypt(self.encoding_aes_key, document["Encrypt"])
        assert app_id == self.app_id
        return read_xml(message)
