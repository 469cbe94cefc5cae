"""``govchat line setup`` and ``govchat facebook setup``: the channel packages' platform setup,
given the hub's credentials and its knowledge base (a menu may only name entries that exist)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from app.settings import Settings
from channels.facebook.profile import PROFILE_TEMPLATE, set_up_profile
from channels.line.rich_menu import MENU_TEMPLATE, set_up_rich_menu
from knowledge_base.loader import DEFAULT_ROOT, load_knowledge_base


def register(sub: Any) -> None:
    line = sub.add_parser("line", help="the LINE Official Account").add_subparsers(
        dest="line_command", required=True
    )
    line_setup_parser = line.add_parser("setup", help="create the default rich menu and make it the default")
    line_setup_parser.add_argument(
        "--image",
        type=Path,
        help="a designed PNG or JPEG of the menu's size (2500x1686) instead of the drawn one",
    )
    line_setup_parser.add_argument(
        "--menu", type=Path, default=MENU_TEMPLATE, help="the rich menu description (YAML)"
    )
    line_setup_parser.set_defaults(handler=cmd_line_setup)

    facebook = sub.add_parser("facebook", help="the Facebook Page's Messenger").add_subparsers(
        dest="facebook_command", required=True
    )
    facebook_setup_parser = facebook.add_parser(
        "setup", help="set the Get Started button, greeting and persistent menu (Messenger Profile API)"
    )
    facebook_setup_parser.add_argument(
        "--profile", type=Path, default=PROFILE_TEMPLATE, help="the profile description (YAML)"
    )
    facebook_setup_parser.add_argument(
        "--dry-run", action="store_true", help="print the request body instead of sending it"
    )
    facebook_setup_parser.set_defaults(handler=cmd_facebook_setup)


def cmd_line_setup(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(line_setup(settings, args.menu, args.image, sys.stdout))


def cmd_facebook_setup(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(facebook_setup(settings, args.profile, sys.stdout, dry_run=args.dry_run))


async def line_setup(settings: Settings, menu_path: Path, image_path: Path | None, out: TextIO) -> int:
    if settings.line_channel_access_token is None:
        print("LINE_CHANNEL_ACCESS_TOKEN is not set", file=out)
        return 1
    return await set_up_rich_menu(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        menu_path=menu_path,
        image_path=image_path,
        is_known_faq=_known_faq(settings),
        out=out,
    )


async def facebook_setup(
    settings: Settings, profile_path: Path, out: TextIO, *, dry_run: bool = False
) -> int:
    token, secret = settings.facebook_page_access_token, settings.facebook_app_secret
    return await set_up_profile(
        profile_path=profile_path,
        is_known_faq=_known_faq(settings),
        out=out,
        dry_run=dry_run,
        graph_api_base_url=settings.facebook_graph_api_base_url,
        page_access_token=token.get_secret_value() if token is not None else None,
        app_secret=secret.get_secret_value() if secret is not None else None,
    )


def _known_faq(settings: Settings) -> Callable[[str], bool]:
    """Whether the knowledge base has an entry; it is read only if a menu names one."""
    load = functools.cache(lambda: load_knowledge_base(settings.kb_dir or DEFAULT_ROOT))
    return lambda faq_id: load().entry(faq_id) is not None
