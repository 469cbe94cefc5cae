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


def test_every_part_in_the_folder_is_in_the_script_once_and_in_order() -> None:
    assert sorted(WIDGET_PARTS) == sorted(path.name for path in WIDGET_PARTS_DIR.glob("*.js"))
    texts = [(WIDGET_PARTS_DIR / name).read_text(encoding="utf-8") for name in WIDGET_PARTS]
    assert "".join(texts) == WIDGET_SOURCE
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
    for name in WIDGET_PARTS[1:]:
        (tmp_path / name).write_text((WIDGET_PARTS_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")

    with pytest.raises(FileNotFoundError):
        assemble_widget_source(tmp_path)
