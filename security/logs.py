"""Keep customers' personal data out of log files.

`install_log_masking()` wraps the process's log-record factory, so every record, whoever
logs it and whatever handler writes it (Rasa's, uvicorn's, Sanic's, ours), has phone numbers,
ID-card and bank-card numbers and street addresses masked before it is formatted. Installing
it twice is harmless.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from security.pii import mask_pii

_MARK = "_mall_assistant_masking"


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's business to report
        return record
    masked = mask_pii(message)
    if masked != message:
        record.msg = masked
        record.args = None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Exception messages carry customer words too (a failed call's URL, say).
        record.exc_text = mask_pii("".join(traceback.format_exception(*record.exc_info)).rstrip())
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
