"""The LINE account's rich menu: ``rich_menu.yml`` describes it, ``set_up_rich_menu`` installs it.

Installing creates the menu through the Messaging API, uploads its image (drawn by
``menu_image.py`` unless a designed one is given) through the data API, makes it the default,
and deletes the menus of the same name it replaces, so running it again is safe. The hub's
``govchat line setup`` passes the credentials and the knowledge base's entry ids in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from channels.base import (
    POSTBACK_COMPLAINT,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_HUMAN,
)
from channels.line.menu_image import Tile, draw_menu, hex_color

MENU_TEMPLATE = Path(__file__).parent / "rich_menu.yml"
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


def postback_texts(menu: MenuTemplate) -> dict[str, str]:
    """What each tapped area says in the transcript (LINE sends only the area's data)."""
    return {area.data: area.text for area in menu.areas}


async def set_up_rich_menu(
    *,
    access_token: str,
    api_base_url: str,
    data_api_base_url: str,
    menu_path: Path,
    image_path: Path | None,
    is_known_faq: Callable[[str], bool],
    out: TextIO,
) -> int:
    """``govchat line setup``: check the menu and its image, install it, say what happened (exit status)."""
    try:
        menu = load_menu(menu_path)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        print(f"{menu_path}: {error}", file=out)
        return 1
    missing = [faq_id for faq_id in _faq_ids(menu) if not is_known_faq(faq_id)]
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

    try:
        menu_id = await install_rich_menu(
            api_base_url, data_api_base_url, access_token, menu, image, content_type
        )
    except ApiException as error:
        print(f"LINE API {error.status}: {error.body or error.reason}", file=out)
        return 1
    print(f"rich menu {menu_id} ({menu.name}) is now the default for every friend", file=out)
    return 0


def _faq_ids(menu: MenuTemplate) -> list[str]:
    return [
        a.data.removeprefix(POSTBACK_FAQ_PREFIX) for a in menu.areas if a.data.startswith(POSTBACK_FAQ_PREFIX)
    ]


def _menu_image(menu: MenuTemplate, image_path: Path | None) -> tuple[bytes, str]:
    if image_path is None:
        return draw_menu(menu.width, menu.height, [tile for _area, tile in menu.tiles()]), "image/png"
    image = image_path.read_bytes()
    return image, "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"


async def install_rich_menu(
    api_base_url: str, data_api_base_url: str, token: str, menu: MenuTemplate, image: bytes, content_type: str
) -> str:
    """Create, upload, set as default, then remove the older menus of the same name."""
    from linebot.v3.messaging import (
        ApiException,
        AsyncApiClient,
        AsyncMessagingApi,
        AsyncMessagingApiBlob,
        Configuration,
    )

    api_client = AsyncApiClient(Configuration(host=api_base_url.rstrip("/"), access_token=token))
    data_client = AsyncApiClient(Configuration(host=data_api_base_url.rstrip("/"), access_token=token))
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
