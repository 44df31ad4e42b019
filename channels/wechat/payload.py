"""Read a push body (XML, or JSON from mini-programs) into a dict, safely."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from channels.wechat.errors import RequestRejected

# WeChat's pushes are a few hundred bytes (compatible mode about three times that).
MAX_BODY_BYTES = 64 * 1024
_MAX_DEPTH = 4


def parse_document(body: bytes | str) -> dict[str, Any]:
    """The fields of an XML `<xml>...</xml>` or JSON object push; RequestRejected otherwise."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise RequestRejected(413, "body too large")
    stripped = raw.lstrip()
    if stripped.startswith(b"{"):
        return _parse_json(stripped)
    if stripped.startswith(b"<"):
        return _parse_xml(stripped)
    raise RequestRejected(400, "body is neither XML nor JSON")


def _parse_xml(raw: bytes) -> dict[str, Any]:
    try:
        # No DTD at all: WeChat never sends one, and refusing it rules out external
        # entities and entity-expansion bombs before any entity is read.
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError) as exc:
        raise RequestRejected(400, f"unsafe or malformed XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise RequestRejected(400, "XML root is not <xml>")
    fields = _element_fields(root, depth=0)
    assert isinstance(fields, dict)
    return fields


def _element_fields(element: Element, depth: int) -> dict[str, Any] | str:
    children = list(element)
    if not children:
        return (element.text or "").strip() if depth else {}
    if depth >= _MAX_DEPTH:
        raise RequestRejected(400, "XML nested too deeply")
    fields: dict[str, Any] = {}
    for child in children:
        value = _element_fields(child, depth + 1)
        if child.tag in fields:
            # Repeated elements (a list of pictures in an event) become a list.
            previous = fields[child.tag]
            fields[child.tag] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            fields[child.tag] = value
    return fields


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRejected(400, "malformed JSON") from exc
    if not isinstance(document, dict):
        raise RequestRejected(400, "JSON push is not an object")
    # Same shape as XML pushes: scalars as text, so one reader handles both.
    return {str(key): _scalar_text(value) for key, value in document.items()}


def _scalar_text(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)
