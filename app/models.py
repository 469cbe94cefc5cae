"""Imports every model module so that ``Base.metadata`` is complete (Alembic, tests)."""

from app.complaints import history as complaint_history
from app.complaints import models as complaints
from app.conversations import models as conversations
from app.kb import models as kb
from app.officers import models as officers

__all__ = ["complaint_history", "complaints", "conversations", "kb", "officers"]
