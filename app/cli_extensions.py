"""Sub-commands added by feature areas (channels setup, retention, ...)."""

from __future__ import annotations

from typing import Any


def register_extensions(sub: Any) -> None:
    """Each feature adds its commands here, e.g. ``govchat line setup``."""
    return None
