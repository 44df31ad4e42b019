"""Keep customers' personal data out of log files.

`install_log_masking()` wraps the process's log-record factory, so every record, whoever
logs it and whatever handler writes it (Rasa's, uvicorn's, Sanic's, ours), has phone numbers,
ID-card and bank-card numbers and street addresses masked before it is formatted. Installing
it twice is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote

from security.pii import mask_pii

_MARK = "_mall_assistant_masking"
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _readable(message: str) -> str:
    """Customer words as written: JSON escapes (Rasa's JSON log lines) and URL-encoding undone.

    Otherwise a phone number right after an escaped Chinese character ("\\u753513812345678")
    would look like part of a longer number and slip through.
    """
    if "\\u" in message:
        # Only non-ASCII escapes: an escaped quote or newline must stay escaped.
        message = _JSON_ESCAPE.sub(
            lambda match: chr(code) if (code := int(match.group(1), 16)) >= 0x80 else match.group(),
            message,
        )
    if "%" in message:
        message = _PERCENT_RUN.sub(lambda match: unquote(match.group(), errors="strict"), message)
    return message


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's business to report
        return record
    try:
        readable = _readable(message)
    except UnicodeDecodeError:
        readable = message
    masked = mask_pii(readable)
    if masked != readable:
        record.msg = masked
        record.args = None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Exception messages carry customer words too (a failed call's URL, say).
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        with contextlib.suppress(UnicodeDecodeError):
            text = _readable(text)
        record.exc_text = mask_pii(text)
    return record


def install_log_masking() -> None:
    """Mask personal data in every log record this process creates from now on."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _mask_record(previous(*args, **kwargs))

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)
