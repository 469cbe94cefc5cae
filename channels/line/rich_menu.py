"""The LINE channel's wiring: the adapter from settings, and ``govchat line setup`` (rich menu).

The rich menu is described in ``templates/line_rich_menu.yml``; ``govchat line setup``
creates it through the Messaging API, uploads its image (drawn here unless ``--image`` names
a designed one) through the data API, makes it the default, and deletes the menus of the
same name it replaces, so running it again is safe.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.line_menu_image import Tile, draw_menu, hex_color
from app.settings import Settings
from channels.base import (
    POSTBACK_COMPLAINT,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_HUMAN,
)
from knowledge_base.loader import DEFAULT_ROOT, load_knowledge_base

# line-bot-sdk takes seconds to import: only the hub and `line setup` load it, not every
# `govchat` command whose parser registers `line setup`.
if TYPE_CHECKING:
    from channels.line import LineAdapter

MENU_TEMPLATE = Path(__file__).parent / "templates" / "line_rich_menu.yml"
MAX_IMAGE_BYTES = 1024 * 1024  # LINE's limit for a rich menu image
_MENU_PAYLOADS = frozenset({POSTBACK_HUMAN, POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS})


class MenuArea(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: str = Field(min_length=1, max_length=300)
    label: str = Field(min_length=1, max_length=20)
    text: str = Field(min_length=1, max_length=300)
    icon: str
    color: str

    @field_validator("data")
    @classmethod
    def _one_of_our_payloads(cls, value: str) -> str:
        if value not in _MENU_PAYLOADS and not value.startswith(POSTBACK_FAQ_PREFIX):
            raise ValueError(f"{value!r} is not a postback payload the hub handles")
        return value

    @field_validator("color")
    @classmethod
    def _a_colour(cls, value: str) -> str:
        hex_color(value)
        return value


class MenuTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    chat_bar_text: str = Field(min_length=1, max_length=14)
    width: int = Field(ge=800, le=2500)
    height: int = Field(ge=250)
    columns: int = Field(ge=1, le=5)
    areas: list[MenuArea] = Field(min_length=1, max_length=20)

    def tiles(self) -> list[tuple[MenuArea, Tile]]:
        rows = -(-len(self.areas) // self.columns)
        result = []
        for n, area in enumerate(self.areas):
            row, column = divmod(n, self.columns)
            x, y = self.width * column // self.columns, self.height * row // rows
            right, bottom = self.width * (column + 1) // self.columns, self.height * (row + 1) // rows
            result.append((area, Tile(x, y, right - x, bottom - y, hex_color(area.color), area.icon)))
        return result


def load_menu(path: Path = MENU_TEMPLATE) -> MenuTemplate:
    return MenuTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def build_line_adapter(settings: Settings, config_errors: dict[str, str]) -> LineAdapter | None:
    """The adapter when both credentials are set; else the webhook answers 503."""
    if settings.line_channel_secret is None or settings.line_channel_access_token is None:
        return None
    from channels.line import LineAdapter
    from channels.line_messages import LineLabels
    from knowledge_base.conversation import load_responses

    responses = load_responses()
    return LineAdapter(
        channel_secret=settings.line_channel_secret.get_secret_value(),
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        labels=LineLabels(source=responses.source_label, human=responses.quick_reply_human),
        var_dir=settings.var_dir,
        postback_texts={area.data: area.text for area in load_menu().areas},
        config_errors=config_errors,
    )


def register(sub: Any) -> None:
    line = sub.add_parser("line", help="the LINE Official Account").add_subparsers(
        dest="line_command", required=True
    )
    setup = line.add_parser("setup", help="create the default rich menu and make it the default")
    setup.add_argument(
        "--image",
        type=Path,
        help="a designed PNG or JPEG of the menu's size (2500x1686) instead of the drawn one",
    )
    setup.add_argument("--menu", type=Path, default=MENU_TEMPLATE, help="the rich menu description (YAML)")
    setup.set_defaults(handler=cmd_line_setup)


def cmd_line_setup(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(line_setup(settings, args.menu, args.image, sys.stdout))


async def line_setup(settings: Settings, menu_path: Path, image_path: Path | None, out: TextIO) -> int:
    if settings.line_channel_access_token is None:
        print("LINE_CHANNEL_ACCESS_TOKEN is not set", file=out)
        return 1
    try:
        menu = load_menu(menu_path)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        print(f"{menu_path}: {error}", file=out)
        return 1
    missing = _unknown_entries(menu, settings)
    if missing:
        print(f"{menu_path}: no knowledge base entry {', '.join(missing)}", file=out)
        return 1
    try:
        image, content_type = _menu_image(menu, image_path)
    except OSError as error:
        print(f"{image_path}: {error.strerror or error}", file=out)
        return 1
    if len(image) > MAX_IMAGE_BYTES:
        print(f"the rich menu image is {len(image)} bytes; LINE accepts at most {MAX_IMAGE_BYTES}", file=out)
        return 1
    from linebot.v3.messaging import ApiException

    token = settings.line_channel_access_token.get_secret_value()
    try:
        menu_id = await install_rich_menu(settings, token, menu, image, content_type)
    except ApiException as error:
        print(f"LINE API {error.status}: {error.body or error.reason}", file=out)
        return 1
    print(f"rich menu {menu_id} ({menu.name}) is now the default for every friend", file=out)
    return 0


def _unknown_entries(menu: MenuTemplate, settings: Settings) -> list[str]:
    kb = load_knowledge_base(settings.kb_dir or DEFAULT_ROOT)
    ids = [
        a.data.removeprefix(POSTBACK_FAQ_PREFIX) for a in menu.areas if a.data.startswith(POSTBACK_FAQ_PREFIX)
    ]
    return [faq_id for faq_id in ids if kb.entry(faq_id) is None]


def _menu_image(menu: MenuTemplate, image_path: Path | None) -> tuple[bytes, str]:
    if image_path is None:
        return draw_menu(menu.width, menu.height, [tile for _area, tile in menu.tiles()]), "image/png"
    image = image_path.read_bytes()
    return image, "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"


async def install_rich_menu(
    settings: Settings, token: str, menu: MenuTemplate, image: bytes, content_type: str
) -> str:
    """Create, upload, set as default, then remove the older menus of the same name."""
    from linebot.v3.messaging import (
        ApiException,
        AsyncApiClient,
        AsyncMessagingApi,
        AsyncMessagingApiBlob,
        Configuration,
    )

    api_client = AsyncApiClient(
        Configuration(host=settings.line_api_base_url.rstrip("/"), access_token=token)
    )
    data_client = AsyncApiClient(
        Configuration(host=settings.line_data_api_base_url.rstrip("/"), access_token=token)
    )
    try:
        api, blob = AsyncMessagingApi(api_client), AsyncMessagingApiBlob(data_client)
        existing = await api.get_rich_menu_list()
        older = [m.rich_menu_id for m in existing.richmenus or [] if m.name == menu.name]
        created = await api.create_rich_menu(_rich_menu_request(menu))
        menu_id = str(created.rich_menu_id)
        try:
            await blob.set_rich_menu_image(menu_id, image, _headers={"Content-Type": content_type})
            await api.set_default_rich_menu(menu_id)
        except ApiException:
            await api.delete_rich_menu(menu_id)  # leave no half-made menu behind
            raise
        for old_id in older:
            await api.delete_rich_menu(old_id)
        return menu_id
    finally:
        await api_client.close()
        await data_client.close()


def _rich_menu_request(menu: MenuTemplate) -> Any:
    from linebot.v3.messaging import (
        PostbackAction,
        RichMenuArea,
        RichMenuBounds,
        RichMenuRequest,
        RichMenuSize,
    )

    return RichMenuRequest(
        size=RichMenuSize(width=menu.width, height=menu.height),
        selected=True,
        name=menu.name,
        chat_bar_text=menu.chat_bar_text,
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=tile.x, y=tile.y, width=tile.width, height=tile.height),
                action=PostbackAction(label=area.label, data=area.data, display_text=area.text),
            )
            for area, tile in menu.tiles()
        ],
    )
