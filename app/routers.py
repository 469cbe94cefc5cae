"""Feature routers (webhooks, officers, admin) mounted by ``create_app``."""

from __future__ import annotations

from fastapi import FastAPI


def include_feature_routers(app: FastAPI) -> None:
    return None
