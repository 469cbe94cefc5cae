"""LINE webhooks against real hub processes: the fake LINE API, signed events, ``govchat serve``.

The pieces ``benchmarks/load.py`` drives, and a one-rate command kept for the README:

* ``FakeLine``: the fake LINE Messaging API (``tests/fakes/line/api.py``) in its own process,
  so serving the hub's replies never competes with the load generator for the GIL. It issues
  reply tokens in bulk and reports every answer it accepted (a reply by token, a push by
  chat) with the moment it accepted it, and whether that answer handed the chat to a person.
* ``signed_text_event``: the body LINE would POST for one text message, and its signature.
* ``HubProcess`` (``benchmarks/harness.py``) points its hubs at the fake.

    .venv/bin/python benchmarks/line_webhook.py [--rate 20] [--seconds 15]
        [--database-url postgresql+asyncpg://...]   # default: a fresh SQLite file

is ``benchmarks/load.py --configs sqlite-embedded --rates R --seconds S --skip-peer`` (or
``pg-embedded --pg-processes 1`` when a PostgreSQL URL is given).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import multiprocessing
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.harness import LINE_CHANNEL_SECRET as SECRET  # noqa: E402


@dataclass(frozen=True)
class Answer:
    """One answer the fake LINE API accepted: ``key`` is the reply token, or the chat of a push."""

    via: str  # reply | push
    key: str
    at: float  # wall clock (time.time()) of acceptance
    handed_over: bool  # the answer put the chat in an officer queue or a complaint flow


def _serve_fake_line(connection: Connection, handover_markers: Sequence[str]) -> None:
    """The child process: run the fake and answer ``tokens`` / ``answers`` / ``stop`` commands."""
    from tests.fakes.line.api import FakeLineApi

    def handed_over(body: Any) -> bool:
        messages = body.get("messages") if isinstance(body, dict) else None
        texts = [str(m.get("text", "")) for m in messages or [] if isinstance(m, dict)]
        return any(text.startswith(marker) for text in texts for marker in handover_markers)

    seen = {"reply": 0, "push": 0}
    with FakeLineApi() as fake:
        connection.send((fake.url, fake.data_url, fake.access_token))
        while True:
            try:
                command, argument = connection.recv()
            except (EOFError, KeyboardInterrupt):  # the parent is gone
                return
            if command == "tokens":
                chats, ttl = argument
                connection.send([fake.issue_reply_token(chat, ttl) for chat in chats])
            elif command == "answers":
                found: list[Answer] = []
                for endpoint, key_field in (("reply", "replyToken"), ("push", "to")):
                    recorded = fake.requests(endpoint)  # append-only: new ones are at the end
                    for request in recorded[seen[endpoint] :]:
                        if request.status == 200 and isinstance(request.json, dict):
                            key = str(request.json.get(key_field))
                            found.append(Answer(endpoint, key, request.at, handed_over(request.json)))
                    seen[endpoint] = len(recorded)
                connection.send(found)
            else:
                return


class FakeLine:
    """``tests/fakes/line/api.FakeLineApi`` in a child process (see the module doc)."""

    def __init__(self, handover_markers: Sequence[str] = ()) -> None:
        self.handover_markers = tuple(handover_markers)
        self.url = self.data_url = self.access_token = ""
        self._connection: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> FakeLine:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve_fake_line, args=(theirs, self.handover_markers), name="fake-line", daemon=True
        )
        self._process.start()
        theirs.close()
        self._connection = ours
        try:
            if not ours.poll(60):
                raise EOFError
            self.url, self.data_url, self.access_token = ours.recv()
        except EOFError:
            self.__exit__(None, None, None)
            raise RuntimeError("the fake LINE API did not start") from None
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None and self._process.pid is not None
        return self._process.pid

    def _ask(self, command: str, argument: object) -> Any:
        assert self._connection is not None
        self._connection.send((command, argument))
        return self._connection.recv()

    def issue_reply_tokens(self, chats: Sequence[str], ttl: float) -> list[str]:
        tokens: list[str] = self._ask("tokens", (list(chats), ttl))
        return tokens

    def answers(self) -> list[Answer]:
        """Answers accepted since the previous call (not thread-safe: one caller at a time)."""
        found: list[Answer] = self._ask("answers", None)
        return found

    def __exit__(self, *exc: object) -> None:
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            with contextlib.suppress(OSError, ValueError):
                connection.send(("stop", None))
            connection.close()
        if process is not None:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)


def signature_of(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed_text_event(
    user_id: str, text: str, reply_token: str, serial: int, timestamp_ms: int, bot_user_id: str
) -> tuple[bytes, str]:
    """The webhook body LINE sends for one text message of ``user_id``, and its signature."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": f"01BENCH{serial:019d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "message": {"id": str(10**17 + serial), "type": "text", "quoteToken": "q", "text": text},
    }
    body = json.dumps({"destination": bot_user_id, "events": [event]}, ensure_ascii=False).encode("utf-8")
    return body, signature_of(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="webhook requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to send")
    parser.add_argument(
        "--workers", type=int, default=None, help="GOVCHAT_WORKERS of the hub (default: the hub's)"
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    # load.py imports this module for its pieces, so it is imported here, not at the top
    from benchmarks import load

    postgres = bool(args.database_url and args.database_url.startswith("postgresql"))
    forwarded = [
        "--configs",
        "pg-embedded" if postgres else "sqlite-embedded",
        "--pg-processes",
        "1",
        "--rates",
        f"{args.rate:g}",
        "--seconds",
        f"{args.seconds:g}",
        *(["--workers", str(args.workers)] if args.workers is not None else []),
        "--skip-peer",
        "--keep-going",
    ]
    if postgres:
        forwarded += ["--database-url", args.database_url]
    return load.main(forwarded)


if __name__ == "__main__":
    raise SystemExit(main())
