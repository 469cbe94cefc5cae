"""The widget's source parts: joined in order into one script, none of them a module too big to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.webchat.widget_script import (
    CONFIG_PLACEHOLDER,
    WIDGET_PARTS,
    WIDGET_PARTS_DIR,
    WIDGET_SOURCE,
    assemble_widget_source,
)


def _copy_parts(to: Path, names: tuple[str, ...]) -> None:
    for name in names:
        (to / name).write_text((WIDGET_PARTS_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")


def test_every_part_in_the_folder_is_in_the_script_once_in_order_without_its_header_line() -> None:
    assert sorted(WIDGET_PARTS) == sorted(path.name for path in WIDGET_PARTS_DIR.glob("*.js"))
    bodies = [
        (WIDGET_PARTS_DIR / name).read_text(encoding="utf-8").split("\n", 1)[1] for name in WIDGET_PARTS
    ]
    assert "".join(bodies) == WIDGET_SOURCE
    assert "// widget/" not in WIDGET_SOURCE
    assert WIDGET_SOURCE.count(CONFIG_PLACEHOLDER) == 1


def test_the_script_is_one_iife_so_nothing_leaks_into_the_agency_page() -> None:
    code_lines = [
        line for line in WIDGET_SOURCE.splitlines() if line and not line.startswith((" ", "/*", " *"))
    ]
    assert code_lines == ["(function () {", "})();"]


@pytest.mark.parametrize("name", WIDGET_PARTS)
def test_each_part_stays_under_400_lines(name: str) -> None:
    assert len((WIDGET_PARTS_DIR / name).read_text(encoding="utf-8").splitlines()) < 400


def test_a_missing_part_stops_the_hub_rather_than_serving_a_broken_widget(tmp_path: Path) -> None:
    _copy_parts(tmp_path, WIDGET_PARTS[1:])

    with pytest.raises(FileNotFoundError):
        assemble_widget_source(tmp_path)


def test_a_part_without_its_header_line_is_refused_so_no_code_line_is_dropped(tmp_path: Path) -> None:
    _copy_parts(tmp_path, WIDGET_PARTS)
    outbox = tmp_path / "outbox.js"
    outbox.write_text(outbox.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")

    with pytest.raises(RuntimeError, match=r"outbox\.js"):
        assemble_widget_source(tmp_path)
