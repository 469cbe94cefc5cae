"""Logs with personal data masked: JSON for collectors, readable lines on a terminal.

Every record passes ``PiiMaskingFilter``: ``mask_pii`` masks the message and every string field
before any handler sees them. ``mask_pii`` is the hub's one masking rule, also used for the
insights' examples, knowledge-base drafts and open data: Thai national ID numbers (13 digits, run
together or in the usual 1-4-5-2-1 groups, whatever their checksum: a citizen who mistypes one
digit still gives away the other twelve), Thai phone numbers, e-mail addresses and credentials in
URL queries (``token=``, ``secret=``, ``password=``). Thai digits count as digits.
``configure_logging`` writes JSON unless stderr is a terminal (``make run``), where
``TextFormatter`` writes one readable line per record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
from typing import Any

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_THAI_ID = re.compile(r"(?<!\d)\d(?:\d{12}|([ -])\d{4}\1\d{5}\1\d{2}\1\d)(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Mobile 0[689]x-xxx-xxxx, landline 0x-xxx-xxxx, +66 forms; separators optional.
_PHONE = re.compile(r"(?<!\d)(?:\+66[ -]?|0)(?:[689]\d[ -]?\d{3}[ -]?\d{4}|[2-7][ -]?\d{3}[ -]?\d{4})(?!\d)")
# Credentials in URLs (uvicorn logs a WebSocket's path with its query, e.g. ``?token=...``).
_URL_SECRET = re.compile(r"(?i)\b((?:access_)?token|secret|password)=[^&\s\"']+")
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def mask_pii(text: str) -> str:
    """``text`` with personal data replaced by ``[THAI-ID]``, ``[PHONE]``, ``[EMAIL]``, ``[REDACTED]``."""
    text = unicodedata.normalize("NFC", text).translate(_THAI_DIGITS)
    text = _URL_SECRET.sub(lambda m: f"{m.group(1)}=[REDACTED]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    return _PHONE.sub("[PHONE]", _THAI_ID.sub("[THAI-ID]", text))


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


class PiiMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pii(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _mask_value(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``14:05:31 WARNING app.conversations.worker resumed_unfinished_work count=3``, for people."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and k != "color_message"  # uvicorn's copy of the message
        )
        line = " ".join(
            part
            for part in (
                self.formatTime(record, "%H:%M:%S"),
                f"{record.levelname:<7}",
                record.name,
                record.getMessage(),
                fields,
            )
            if part
        )
        if record.exc_info:
            line += "\n" + mask_pii(self.formatException(record.exc_info))
        return line


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if sys.stderr.isatty() else JsonFormatter())
    handler.addFilter(PiiMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
