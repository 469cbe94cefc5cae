"""The Page's Messenger profile: ``profile.yml`` describes it, ``set_up_profile`` sends it.

The profile is the Get Started button (payload ``get_started``), the greeting (Thai by default,
English for ``en_US``) and the persistent menu, set with one ``POST /me/messenger_profile``.
Properties it does not name are left as they are, so running it again is safe. The hub's
``govchat facebook setup`` passes the credentials and the knowledge base's entry ids in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from channels.base import (
    POSTBACK_COMPLAINT,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_GET_STARTED,
    POSTBACK_HUMAN,
)
from channels.facebook.graph import GraphApiError, GraphClient, GraphUnavailable

PROFILE_TEMPLATE = Path(__file__).parent / "profile.yml"
_MENU_PAYLOADS = frozenset({POSTBACK_HUMAN, POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS})


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: str = Field(min_length=2)
    text: str = Field(min_length=1, max_length=160)


class MenuItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=30)
    payload: str | None = Field(default=None, max_length=1000)
    url: HttpUrl | None = None

    @field_validator("payload")
    @classmethod
    def _one_of_our_payloads(cls, value: str | None) -> str | None:
        if value is not None and value not in _MENU_PAYLOADS and not value.startswith(POSTBACK_FAQ_PREFIX):
            raise ValueError(f"{value!r} is not a postback payload the hub handles")
        return value

    @model_validator(mode="after")
    def _payload_or_url(self) -> MenuItem:
        if (self.payload is None) == (self.url is None):
            raise ValueError("a menu item has either a payload or a url")
        return self

    def call_to_action(self) -> dict[str, str]:
        if self.url is not None:
            return {
                "type": "web_url",
                "title": self.title,
                "url": str(self.url),
                "webview_height_ratio": "full",
            }
        assert self.payload is not None
        return {"type": "postback", "title": self.title, "payload": self.payload}


class Menu(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: str = Field(min_length=2)
    items: list[MenuItem] = Field(min_length=1, max_length=20)


class ProfileTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greeting: list[Greeting] = Field(min_length=1)
    menu: list[Menu] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_locales(self) -> ProfileTemplate:
        if not any(g.locale == "default" for g in self.greeting):
            raise ValueError('greeting needs a "default" locale')
        if not any(m.locale == "default" for m in self.menu):
            raise ValueError('menu needs a "default" locale')
        return self

    def faq_ids(self) -> list[str]:
        payloads = [item.payload or "" for menu in self.menu for item in menu.items]
        return sorted(
            {p.removeprefix(POSTBACK_FAQ_PREFIX) for p in payloads if p.startswith(POSTBACK_FAQ_PREFIX)}
        )

    def messenger_profile(self) -> dict[str, Any]:
        """The Messenger Profile API body."""
        return {
            "get_started": {"payload": POSTBACK_GET_STARTED},
            "greeting": [{"locale": g.locale, "text": g.text} for g in self.greeting],
            "persistent_menu": [
                {
                    "locale": menu.locale,
                    "composer_input_disabled": False,
                    "call_to_actions": [item.call_to_action() for item in menu.items],
                }
                for menu in self.menu
            ],
        }


def load_profile(path: Path = PROFILE_TEMPLATE) -> ProfileTemplate:
    return ProfileTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


async def set_up_profile(
    *,
    profile_path: Path,
    is_known_faq: Callable[[str], bool],
    out: TextIO,
    dry_run: bool = False,
    graph_api_base_url: str,
    page_access_token: str | None,
    app_secret: str | None,
) -> int:
    """``govchat facebook setup``: check the profile, send it (or print it), say what happened (exit status)."""
    try:
        profile = load_profile(profile_path)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        print(f"{profile_path}: {error}", file=out)
        return 1
    missing = [faq_id for faq_id in profile.faq_ids() if not is_known_faq(faq_id)]
    if missing:
        print(f"{profile_path}: no knowledge base entry {', '.join(missing)}", file=out)
        return 1
    body = profile.messenger_profile()
    if dry_run:
        print(json.dumps(body, ensure_ascii=False, indent=2), file=out)
        return 0
    if page_access_token is None or app_secret is None:
        print("FACEBOOK_PAGE_ACCESS_TOKEN and FACEBOOK_APP_SECRET must be set", file=out)
        return 1
    graph = GraphClient(base_url=graph_api_base_url, access_token=page_access_token, app_secret=app_secret)
    try:
        await graph.post("/me/messenger_profile", body)
    except GraphApiError as error:
        print(
            f"Graph API error {error.code}/{error.subcode} (HTTP {error.status}): {error.message}", file=out
        )
        return 1
    except GraphUnavailable as error:
        print(f"Graph API unreachable: {error}", file=out)
        return 1
    finally:
        await graph.aclose()
    items = sum(len(menu.items) for menu in profile.menu)
    locales = ", ".join(g.locale for g in profile.greeting)
    print(
        f"Messenger profile set: Get Started, greeting ({locales}), persistent menu ({items} items)", file=out
    )
    return 0
