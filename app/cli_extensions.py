"""Sub-commands added by feature areas (channels setup, retention, ...)."""

from __future__ import annotations

from typing import Any


def register_extensions(sub: Any) -> None:
    """Each feature adds its commands here, e.g. ``govchat line setup``."""
    from app.channel_commands import register as register_channels

    register_channels(sub)
    from app.insights.cli import register as register_insights

    register_insights(sub)
    from app.kb.cli import register as register_kb

    register_kb(sub)
