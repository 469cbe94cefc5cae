"""When a complaint update may go out now, and as whose message (Messenger's windows and HUMAN_AGENT)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.complaints import notifications
from app.complaints.models import CaseStatus
from app.conversations.models import Conversation, Sender

NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


def _conversation(channel: str, wrote_ago: dt.timedelta | None) -> Conversation:
    return Conversation(channel=channel, last_inbound_at=None if wrote_ago is None else NOW - wrote_ago)


@pytest.mark.parametrize("channel", ["line", "webchat"])
def test_other_channels_always_send_now(channel: str) -> None:
    notice = notifications.plan(_conversation(channel, dt.timedelta(days=30)), "", NOW)
    assert notice == notifications.Notice(Sender.BOT)


@pytest.mark.parametrize(
    ("wrote_ago", "note", "expected"),
    [
        (dt.timedelta(hours=1), "", notifications.Notice(Sender.BOT)),
        (dt.timedelta(hours=1), "ตรวจแล้ว", notifications.Notice(Sender.OFFICER)),
        # inside the margin before 24 h: no longer a plain response
        (
            dt.timedelta(hours=23, minutes=58),
            "",
            notifications.Notice(Sender.BOT, notifications.HELD_NEEDS_NOTE),
        ),
        (dt.timedelta(days=2), "", notifications.Notice(Sender.BOT, notifications.HELD_NEEDS_NOTE)),
        (dt.timedelta(days=2), "ตรวจแล้ว", notifications.Notice(Sender.OFFICER)),  # HUMAN_AGENT
        (
            dt.timedelta(days=6, hours=23, minutes=58),
            "ตรวจแล้ว",
            notifications.Notice(Sender.OFFICER, notifications.HELD_AFTER_7_DAYS),
        ),
        (
            dt.timedelta(days=8),
            "ตรวจแล้ว",
            notifications.Notice(Sender.OFFICER, notifications.HELD_AFTER_7_DAYS),
        ),
        (None, "ตรวจแล้ว", notifications.Notice(Sender.OFFICER, notifications.HELD_NO_MESSAGE)),
    ],
)
def test_messenger_windows(wrote_ago: dt.timedelta | None, note: str, expected: notifications.Notice) -> None:
    assert notifications.plan(_conversation("facebook", wrote_ago), note, NOW) == expected


def test_the_text_names_the_number_the_thai_status_and_the_note() -> None:
    text = notifications.update_text("CMP-2569-000123", CaseStatus.CLOSED, "แก้ไขแล้วค่ะ")
    assert (
        text
        == "แจ้งความคืบหน้าเรื่องร้องเรียนหมายเลข CMP-2569-000123\nสถานะ: ดำเนินการเสร็จสิ้น\nหมายเหตุจากเจ้าหน้าที่: แก้ไขแล้วค่ะ"
    )
    assert notifications.update_text("CMP-2569-000123", CaseStatus.RECEIVED, "").endswith("สถานะ: รับเรื่องแล้ว")
