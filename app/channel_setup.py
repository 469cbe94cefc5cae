"""Adapters of the outside platforms, built only when their credentials are configured."""

from __future__ import annotations

from app.settings import Settings
from channels.base import ChannelAdapter


def configured_platform_adapters(
    settings: Settings, config_errors: dict[str, str]
) -> dict[str, ChannelAdapter]:
    """The LINE and Messenger adapters, each built only when its credentials are configured."""
    adapters: dict[str, ChannelAdapter] = {}
    from app.line_setup import build_line_adapter

    if (line := build_line_adapter(settings, config_errors)) is not None:
        adapters["line"] = line
    from app.facebook_setup import build_messenger_adapter

    if (messenger := build_messenger_adapter(settings, config_errors)) is not None:
        adapters["facebook"] = messenger
    return adapters
