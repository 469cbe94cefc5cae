"""Retention helpers: only our own files are deleted; the daily run is at 03:00 Bangkok time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.insights.retention import redacted_extra, seconds_until_next_run, stored_files


class TestStoredFiles:
    def test_files_under_the_var_folder(self, tmp_path: Path) -> None:
        extra = {"attachments": [{"stored_path": "attachments/line/c1/1.jpg"}, {"kind": "sticker"}]}

        assert stored_files(tmp_path, extra) == [(tmp_path / "attachments/line/c1/1.jpg").resolve()]

    def test_paths_leaving_the_var_folder_are_ignored(self, tmp_path: Path) -> None:
        extra = {
            "attachments": [
                {"stored_path": "../outside.txt"},
                {"stored_path": "/etc/passwd"},
                {"stored_path": "."},
            ]
        }

        assert stored_files(tmp_path / "var", extra) == []


def test_a_redacted_message_keeps_only_the_fact_and_the_number_of_files() -> None:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    extra = {"attachments": [{"stored_path": "a"}, {"stored_path": "b"}], "faq": {"id": "x"}}

    assert redacted_extra(extra, when) == {
        "redacted": True,
        "redacted_at": "2026-01-01T00:00:00+00:00",
        "attachments_removed": 2,
    }


class TestNextRun:
    def test_later_the_same_night(self) -> None:
        now = dt.datetime(2026, 1, 1, 19, 0, tzinfo=dt.UTC)  # 02:00 in Bangkok
        assert seconds_until_next_run(now) == 3600

    def test_just_after_the_run_waits_a_day(self) -> None:
        now = dt.datetime(2026, 1, 1, 20, 0, 1, tzinfo=dt.UTC)  # 03:00:01 in Bangkok
        assert seconds_until_next_run(now) == 24 * 3600 - 1
