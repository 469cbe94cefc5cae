"""Feature routers (webhooks, officers, admin) mounted by ``create_app``."""

from __future__ import annotations

from fastapi import FastAPI


def include_feature_routers(app: FastAPI) -> None:
    from app.webhooks.routes import webhook_router

    app.include_router(webhook_router())
    from app.officers.routes import include_officer_routers

    include_officer_routers(app)
    from app.complaints.routes import page_router as complaints_page_router
    from app.complaints.routes import router as complaints_router

    app.include_router(complaints_router)
    app.include_router(complaints_page_router)
    from app.insights.routes import include_insights_routers

    include_insights_routers(app)
    from app.kb.routes import router as kb_router

    app.include_router(kb_router)
    from app.kb_pages import router as kb_pages_router

    app.include_router(kb_pages_router)
    from app.nlu_training.routes import router as training_router

    app.include_router(training_router)
