"""Case numbers with PINs as citizens type them, and PINs kept only as keyed hashes."""

from __future__ import annotations

import pytest

from app.complaints import service
from app.complaints.models import ComplaintCase
from app.complaints.service import find_number_and_pin, issue_pin, parse_pin


class TestNumberAndPin:
    @pytest.mark.parametrize(
        ("text", "pin"),
        [
            ("CMP-2569-000123 1234", "1234"),
            ("cmp 2569 123 pin 1234", "1234"),
            ("เรื่อง CMP-2569-000123 PIN: 1234 ถึงไหนแล้วคะ", "1234"),
            ("CMP-๒๕๖๙-๐๐๐๑๒๓ ๑๒๓๔", "1234"),
            ("CMP-2569-000123, 0042", "0042"),
            ("CMP-2569-000123", None),
            ("CMP-2569-000123 12345", None),  # not a 4-digit PIN
            ("CMP-2569-000123 ถึงไหนแล้ว 1234", None),  # only right after the number
        ],
    )
    def test_the_pin_is_the_four_digits_after_the_number(self, text: str, pin: str | None) -> None:
        assert find_number_and_pin(text) == ("CMP-2569-000123", pin)

    @pytest.mark.parametrize(("text", "pin"), [("1234", "1234"), ("PIN ๐๐๔๒", "0042"), ("รหัส 9876", "9876")])
    def test_a_pin_alone(self, text: str, pin: str) -> None:
        assert parse_pin(text) == pin

    @pytest.mark.parametrize("text", ["12345", "123", "1234 ค่ะ ขอบคุณ", ""])
    def test_not_a_pin(self, text: str) -> None:
        assert parse_pin(text) is None


class TestIssuePin:
    def test_only_a_keyed_hash_is_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(service.secrets, "randbelow", lambda _n: 42)
        one, two, other_key = (ComplaintCase(number="CMP-2569-000001") for _ in range(3))

        pin = issue_pin(one, "key-one")
        issue_pin(two, "key-one")
        issue_pin(other_key, "key-two")

        assert pin == "0042"  # four digits, leading zeros kept
        assert one.pin_hash is not None and pin not in one.pin_hash
        assert one.pin_hash == two.pin_hash
        # under another key the same PIN hashes differently: a copied database alone cannot try PINs
        assert other_key.pin_hash != one.pin_hash

    def test_pins_are_drawn_from_all_ten_thousand(self) -> None:
        pins = {issue_pin(ComplaintCase(number="CMP-2569-000001"), "k") for _ in range(300)}
        assert len(pins) > 250 and all(len(p) == 4 and p.isdigit() for p in pins)
