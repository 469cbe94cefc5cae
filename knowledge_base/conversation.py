"""The bot's own texts (``responses.yml``) and the routing rules (``routing.yml``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from knowledge_base.parsing import read_yaml

HERE = Path(__file__).parent


class Responses(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greet: str
    goodbye: str
    thanks: str
    follow: str
    clarify: str
    fallback: str
    fallback_offer_human: str
    escalated: str
    escalated_after_hours: str
    still_waiting: str
    escalation_cancelled: str
    complaint_escalated: str
    expired_answer: str
    attachment_received: str
    sticker_received: str
    source_label: str
    # Replies to a question written in English (knowledge_base.language): the source label, and the
    # sentence put above a Thai answer when the entry has no English text.
    source_label_en: str = "Official information"
    thai_only_en: str = "This answer is only available in Thai; please see the official page below."
    quick_reply_human: str
    quick_reply_cancel: str
    # What the bot reads a tapped "officer" or "cancel" button as: words routing.yml's request
    # phrases and cancel words recognise, so that the button and the typed words act alike.
    human_postback_reads_as: str
    cancel_postback_reads_as: str
    # The officer queue and complaints.
    officer_joined: str
    transferred: str
    rating_request: str
    rating_thanks: str
    rating_quick_replies: list[str]
    complaint_ask_description: str
    complaint_filed: str
    complaint_cancelled: str
    complaint_ask_number: str
    complaint_status: str
    complaint_ask_pin: str
    complaint_pin_refused: str
    complaint_pin_locked: str
    complaint_wait_cancelled: str
    complaint_statuses: dict[str, str]


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    human_request_phrases: list[str]
    request_fillers: list[str] = []
    cancel_words: list[str]
    min_routing_confidence: float
    request_topic_min_confidence: float = 0.5
    topic_memory_minutes: float = 30.0
    intent_departments: dict[str, str]
    default_department: str


def load_responses(root: Path = HERE) -> Responses:
    return Responses.model_validate(read_yaml(root / "responses.yml"))


def load_routing_rules(root: Path = HERE) -> RoutingRules:
    return RoutingRules.model_validate(read_yaml(root / "routing.yml"))
