"""``govchat line setup``: the default rich menu, installed through the (fake) Messaging API."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from app.channel_commands import cmd_line_setup, line_setup
from app.cli import build_parser
from app.settings import Settings
from channels.line.menu_image import Canvas
from channels.line.rich_menu import MENU_TEMPLATE, load_menu
from tests.fakes.line.api import FakeLineApi, Scripted
from tests.integration.line.conftest import line_settings


def settings_for(fake: FakeLineApi, tmp_path: Path) -> Settings:
    return line_settings(f"sqlite+aiosqlite:///{tmp_path / 'govchat.db'}", tmp_path, fake)


def png_pixel(png: bytes, x: int, y: int) -> tuple[int, int, int]:
    (width,) = struct.unpack(">I", png[16:20])
    raw = zlib.decompress(png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8])
    stride = width * 3 + 1
    row = raw[y * stride : (y + 1) * stride]
    assert row[0] == 0  # no filter
    r, g, b = row[1 + x * 3 : 4 + x * 3]
    return r, g, b


class TestSetup:
    async def test_creates_uploads_and_makes_the_menu_the_default(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        out = io.StringIO()
        assert await line_setup(settings_for(fake_line, tmp_path), MENU_TEMPLATE, None, out) == 0
        (menu_id,) = fake_line.rich_menus
        assert fake_line.default_rich_menu == menu_id and menu_id in out.getvalue()
        menu = fake_line.rich_menus[menu_id]
        template = load_menu()
        assert menu["size"] == {"width": 2500, "height": 1686} and menu["selected"] is True
        actions = [area["action"] for area in menu["areas"]]
        assert [a["data"] for a in actions] == [a.data for a in template.areas]
        assert {"human", "complaint", "complaint_status"} <= {a["data"] for a in actions}
        assert all(a["type"] == "postback" and a["displayText"] for a in actions)
        image, content_type = fake_line.rich_menu_images[menu_id]
        assert content_type == "image/png"
        first_tile = template.tiles()[0][1]
        assert png_pixel(image, first_tile.x + 20, first_tile.y + 20) == first_tile.color
        assert fake_line.requests("richmenu_image")[0].path.startswith("/data/")

    async def test_running_it_again_replaces_the_previous_menu(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        settings = settings_for(fake_line, tmp_path)
        assert await line_setup(settings, MENU_TEMPLATE, None, io.StringIO()) == 0
        assert await line_setup(settings, MENU_TEMPLATE, None, io.StringIO()) == 0
        (menu_id,) = fake_line.rich_menus
        assert fake_line.default_rich_menu == menu_id

    async def test_a_designed_image_is_uploaded_as_given(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        designed = Canvas(2500, 1686, (10, 20, 30)).png()
        path = tmp_path / "menu.png"
        path.write_bytes(designed)
        assert await line_setup(settings_for(fake_line, tmp_path), MENU_TEMPLATE, path, io.StringIO()) == 0
        (image, _type), *_ = fake_line.rich_menu_images.values()
        assert image == designed

    async def test_a_missing_image_file_is_reported(self, fake_line: FakeLineApi, tmp_path: Path) -> None:
        out = io.StringIO()
        missing = tmp_path / "missing.png"
        assert await line_setup(settings_for(fake_line, tmp_path), MENU_TEMPLATE, missing, out) == 1
        assert "missing.png" in out.getvalue() and fake_line.requests() == []

    async def test_a_failed_upload_leaves_no_half_made_menu(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        fake_line.script("richmenu_image", Scripted(500, {"message": "error"}))
        out = io.StringIO()
        assert await line_setup(settings_for(fake_line, tmp_path), MENU_TEMPLATE, None, out) == 1
        assert fake_line.rich_menus == {} and fake_line.default_rich_menu is None
        assert "500" in out.getvalue()

    async def test_a_menu_naming_an_unknown_entry_is_refused(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        menu = MENU_TEMPLATE.read_text(encoding="utf-8").replace(
            "faq:company_certificate", "faq:no_such_entry"
        )
        path = tmp_path / "menu.yml"
        path.write_text(menu, encoding="utf-8")
        out = io.StringIO()
        assert await line_setup(settings_for(fake_line, tmp_path), path, None, out) == 1
        assert "no_such_entry" in out.getvalue() and fake_line.requests() == []

    async def test_a_label_longer_than_line_allows_is_refused(
        self, fake_line: FakeLineApi, tmp_path: Path
    ) -> None:
        menu = MENU_TEMPLATE.read_text(encoding="utf-8").replace("label: ร้องเรียน", "label: " + "ร" * 21)
        path = tmp_path / "menu.yml"
        path.write_text(menu, encoding="utf-8")
        assert await line_setup(settings_for(fake_line, tmp_path), path, None, io.StringIO()) == 1
        assert fake_line.requests() == []

    async def test_without_an_access_token_nothing_is_called(self, tmp_path: Path) -> None:
        settings = Settings(_env_file=None, GOVCHAT_VAR_DIR=tmp_path)
        out = io.StringIO()
        assert await line_setup(settings, MENU_TEMPLATE, None, out) == 1
        assert "LINE_CHANNEL_ACCESS_TOKEN" in out.getvalue()


def test_the_cli_has_the_line_setup_command() -> None:
    args = build_parser().parse_args(["line", "setup", "--image", "menu.png"])
    assert args.handler is cmd_line_setup and args.image == Path("menu.png")
