"""Personal data never reaches the logs."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from app.logging import JsonFormatter, PiiMaskingFilter, TextFormatter, configure_logging, mask_pii

VALID_ID = "1101700207030"  # checksum-valid test number
INVALID_ID = "1101700207031"  # one digit mistyped


@pytest.mark.parametrize("written", [VALID_ID, "1-1017-00207-03-0", "1 1017 00207 03 0"])
def test_national_id_is_masked_in_any_common_format(written: str) -> None:
    assert mask_pii(f"เลขบัตร {written} ครับ") == "เลขบัตร [THAI-ID] ครับ"


@pytest.mark.parametrize("written", [INVALID_ID, "1-1017-00207-03-1", "1 1017 00207 03 1", "๑๑๐๑๗๐๐๒๐๗๐๓๑"])
def test_a_national_id_with_a_wrong_checksum_is_masked_too(written: str) -> None:
    assert mask_pii(f"เลขบัตร {written} ครับ") == "เลขบัตร [THAI-ID] ครับ"


@pytest.mark.parametrize("text", ["ทุน 1000000 บาท", "เลข 12345678901234 ยาวไป", "1-1017-0020703-1"])
def test_other_numbers_are_not_national_ids(text: str) -> None:
    assert "[THAI-ID]" not in mask_pii(text)


@pytest.mark.parametrize("address", ["somchai.j@example.co.th", "a+b@mail.example.com"])
def test_email_addresses_are_masked(address: str) -> None:
    assert mask_pii(f"ติดต่อ {address} ได้ค่ะ") == "ติดต่อ [EMAIL] ได้ค่ะ"


@pytest.mark.parametrize("phone", ["0812345678", "081-234-5678", "+66812345678", "02-123-4567", "021234567"])
def test_phone_numbers_are_masked(phone: str) -> None:
    assert mask_pii(f"โทร {phone} นะคะ") == "โทร [PHONE] นะคะ"


def test_hotline_and_years_are_not_phone_numbers() -> None:
    assert mask_pii("สายด่วน 1570 ปี 2569") == "สายด่วน 1570 ปี 2569"


def test_log_record_fields_and_message_are_masked_before_formatting() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiMaskingFilter())
    logger = logging.getLogger("test.pii")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("citizen wrote %s", f"บัตร {VALID_ID}", extra={"text": "โทร 0812345678", "n": 3})
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert VALID_ID not in stream.getvalue() and "0812345678" not in stream.getvalue()
    assert entry["event"] == "citizen wrote บัตร [THAI-ID]"
    assert entry["text"] == "โทร [PHONE]"
    assert entry["n"] == 3


def test_tokens_in_logged_urls_are_redacted() -> None:
    # uvicorn logs a WebSocket's path with its query string.
    line = '127.0.0.1:5000 - "WebSocket /api/webchat/sessions/abc/ws?token=eyJ.sig-x_1&after=3" [accepted]'
    masked = mask_pii(line)
    assert "eyJ.sig-x_1" not in masked
    assert "token=[REDACTED]&after=3" in masked


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "app.main", "levelname": "WARNING", "levelno": logging.WARNING, "msg": "hub_started"}
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_terminal_gets_one_readable_line_with_the_fields() -> None:
    line = TextFormatter().format(_record(database="sqlite", count=3, color_message="\x1b[1mhub\x1b[0m"))
    assert line.endswith("WARNING app.main hub_started database=sqlite count=3")
    assert "{" not in line and "\x1b" not in line


@pytest.mark.parametrize(("terminal", "formatter"), [(True, TextFormatter), (False, JsonFormatter)])
def test_the_format_follows_whether_stderr_is_a_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, formatter: type[logging.Formatter]
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(stream, "isatty", lambda: terminal)
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging()
        assert isinstance(root.handlers[0].formatter, formatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
