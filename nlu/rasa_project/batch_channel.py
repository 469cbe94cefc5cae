"""A Rasa input channel that parses many messages in one request (Rasa 3.6, ``credentials.yml``).

``POST /webhooks/govchat_batch/parse?token=T`` with ``{"texts": [str, ...]}`` answers
``{"results": [...]}``: for each text, in order, what ``/model/parse`` answers for it.

Why: Rasa's HTTP API parses one message a request, and around our ~1 ms of NLU a request costs Rasa
about 3 ms of CPU more (Sanic, JSON, the graph runner's per-run work), so one Rasa process cannot keep
up with the hub. The hub's workers parse a batch of messages at once; here the NLU graph runs once
over all of them (each component processes the list; the e5 encoder embeds the batch's unsure
messages in one call). ``nlu.rasa_http`` sends the texts that wait while a request is in flight.

Authentication is Rasa's HTTP API's: ``?token=`` must be ``RASA_AUTH_TOKEN`` (the value given to
``--auth-token``); with no token configured every request is refused. Channel routes do not pass
through Rasa's ``requires_auth``, so the check is here.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.runner.interface import GraphRunner
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

MAX_TEXTS = 256
MAX_TEXT_CHARS = 4000
TOKEN_VARIABLE = "RASA_AUTH_TOKEN"


def _error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def texts_of(body: Any) -> list[str] | str:
    """The request's texts, or why they are refused."""
    texts = body.get("texts") if isinstance(body, dict) else None
    if not isinstance(texts, list) or not texts:
        return 'expected {"texts": [str, ...]} with at least one text'
    if len(texts) > MAX_TEXTS:
        return f"at most {MAX_TEXTS} texts a request"
    if not all(isinstance(t, str) and len(t) <= MAX_TEXT_CHARS for t in texts):
        return f"every text must be a string of at most {MAX_TEXT_CHARS} characters"
    return texts


def parse_batch(processor: Any, texts: list[str]) -> list[dict[str, Any]]:
    """``processor.parse_message`` for every text, the NLU graph run once over all of them."""
    runner: GraphRunner = processor.graph_runner
    target = processor.model_metadata.nlu_target
    tracker = DialogueStateTracker.from_events(DEFAULT_SENDER_ID, [])
    messages = [UserMessage(text) for text in texts]
    outputs = runner.run(
        inputs={PLACEHOLDER_MESSAGE: messages, PLACEHOLDER_TRACKER: tracker}, targets=[target]
    )
    parsed = outputs[target]
    results = []
    for message in parsed:
        data: dict[str, Any] = {
            TEXT: "",
            INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
            ENTITIES: [],
        }
        data.update(message.as_dict(only_output_properties=True))
        # as /model/parse does (MessageProcessor.parse_message): intent.full_retrieval_intent_name
        processor._update_full_retrieval_intent(data)
        results.append(data)
    return results


class BatchParseInput(InputChannel):
    """``/webhooks/govchat_batch/parse``: many texts parsed in one request (see module doc)."""

    @classmethod
    def name(cls) -> str:
        return "govchat_batch"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> BatchParseInput:
        return cls(os.environ.get(TOKEN_VARIABLE, ""))

    def __init__(self, token: str) -> None:
        self._token = token
        if not token:
            logger.warning("govchat_batch: %s is not set; every batch parse is refused", TOKEN_VARIABLE)

    def _authorised(self, request: Request) -> bool:
        provided = request.args.get("token") or ""
        return bool(self._token) and hmac.compare_digest(provided.encode(), self._token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        batch = Blueprint("govchat_batch", __name__)

        @batch.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @batch.route("/parse", methods=["POST"])
        async def parse(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return _error(401, "a valid ?token= is required")
            try:
                body = request.json
            except Exception:  # Sanic raises its own InvalidUsage on a body that is not JSON
                return _error(400, "the body is not JSON")
            texts = texts_of(body)
            if isinstance(texts, str):
                return _error(400, texts)
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return _error(503, "no model loaded")
            return response.json({"results": parse_batch(agent.processor, texts)})

        return batch
