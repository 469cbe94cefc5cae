"""The web-chat API and WebSocket against INTERFACES.md ("Web chat").

The API's rules run on SQLite only; storing a message once however often it is posted (the
unique key, concurrent retries) is the database's work and runs on both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.services import Services
from app.settings import Settings
from tests.conftest import LiveServer, queue_drained, wait_for

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
REPLY_TIMEOUT = 30.0
MESSAGE_KEYS = {"id", "direction", "sender", "text", "created_at", "quick_replies"}


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@dataclass
class Chat:
    """A web-chat session as a citizen's browser holds it."""

    session_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def messages_url(self) -> str:
        return f"/api/webchat/sessions/{self.session_id}/messages"


async def new_chat(client: httpx.AsyncClient) -> Chat:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    return Chat(response.json()["session_id"], response.json()["token"])


async def post(client: httpx.AsyncClient, chat: Chat, text: str, client_message_id: str) -> httpx.Response:
    return await client.post(
        chat.messages_url, json={"text": text, "client_message_id": client_message_id}, headers=chat.headers
    )


async def messages(client: httpx.AsyncClient, chat: Chat, after: str | None = None) -> list[dict[str, Any]]:
    params = {"after": after} if after is not None else {}
    response = await client.get(chat.messages_url, params=params, headers=chat.headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["messages"]
    return result


async def bot_replies(client: httpx.AsyncClient, chat: Chat) -> list[dict[str, Any]]:
    """Poll until the bot has answered, then return its messages."""

    async def answered() -> list[dict[str, Any]]:
        return [m for m in await messages(client, chat) if m["direction"] == "out"]

    result: list[dict[str, Any]] = await wait_for(answered, timeout=REPLY_TIMEOUT)
    return result


class TestCreateSession:
    async def test_creates_a_session_with_its_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/webchat/sessions")

        assert response.status_code == 201
        body = response.json()
        assert isinstance(body["session_id"], str) and body["session_id"]
        assert isinstance(body["token"], str) and body["token"]

    async def test_each_session_is_new(self, client: httpx.AsyncClient) -> None:
        first, second = await new_chat(client), await new_chat(client)

        assert first.session_id != second.session_id
        assert first.token != second.token

    async def test_a_new_session_has_no_messages(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        assert await messages(client, chat) == []


class TestPostMessage:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # deduplication is a unique key: both databases

    async def test_accepts_a_message_and_lists_it(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        response = await post(client, chat, "สวัสดีค่ะ", "c-1")

        assert response.status_code == 202
        message_id = response.json()["message_id"]
        assert isinstance(message_id, str)
        listed = await messages(client, chat)
        assert listed[0]["id"] == message_id
        assert listed[0]["direction"] == "in"
        assert listed[0]["sender"] == "citizen"
        assert listed[0]["text"] == "สวัสดีค่ะ"

    async def test_repeated_client_message_id_returns_the_same_message_id(
        self, client: httpx.AsyncClient
    ) -> None:
        chat = await new_chat(client)

        first = await post(client, chat, QUESTION, "retry-me")
        second = await post(client, chat, QUESTION, "retry-me")

        assert first.status_code == second.status_code == 202
        assert first.json()["message_id"] == second.json()["message_id"]

    async def test_concurrent_retries_are_processed_once(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        chat = await new_chat(client)

        responses = await asyncio.gather(*(post(client, chat, QUESTION, "same-id") for _ in range(5)))

        assert {r.status_code for r in responses} == {202}
        assert len({r.json()["message_id"] for r in responses}) == 1
        replies = await bot_replies(client, chat)
        await queue_drained(services)  # a second processing would have answered by now too
        listed = await messages(client, chat)
        assert [m["direction"] for m in listed].count("in") == 1
        assert [m for m in listed if m["direction"] == "out"] == replies

    async def test_same_client_message_id_with_another_text_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        chat = await new_chat(client)
        assert (await post(client, chat, "ข้อความแรก", "c-1")).status_code == 202

        response = await post(client, chat, "ข้อความอื่น", "c-1")

        assert response.status_code == 409
        assert [m["text"] for m in await messages(client, chat)][:1] == ["ข้อความแรก"]

    async def test_the_same_client_message_id_in_two_sessions_is_two_messages(
        self, client: httpx.AsyncClient
    ) -> None:
        first, second = await new_chat(client), await new_chat(client)

        a = await post(client, first, "สวัสดี", "shared-id")
        b = await post(client, second, "สวัสดี", "shared-id")

        assert a.status_code == b.status_code == 202
        assert a.json()["message_id"] != b.json()["message_id"]


class TestMessageText:
    async def test_empty_or_whitespace_only_text_is_rejected(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        for n, text in enumerate(["", " ", "   \n\t ", "\u3000"]):
            response = await post(client, chat, text, f"c-empty-{n}")
            assert response.status_code == 422, repr(text)

        assert await messages(client, chat) == []

    async def test_text_of_2000_code_points_is_accepted(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        texts = [char * 2000 for char in ("ก", "a", "😀")]  # Thai, Latin, and outside the BMP

        for n, text in enumerate(texts):
            assert (await post(client, chat, text, f"c-long-{n}")).status_code == 202

        stored = [m["text"] for m in await messages(client, chat) if m["direction"] == "in"]
        assert stored == texts

    async def test_text_of_2001_code_points_is_rejected(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        for char in ("ก", "a", "😀"):
            response = await post(client, chat, char * 2001, f"c-too-long-{char}")
            assert response.status_code == 422, char

        assert await messages(client, chat) == []

    async def test_thai_with_combining_marks_counts_code_points(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        syllable = "กี่"  # three code points: consonant, vowel, tone mark

        accepted = await post(client, chat, syllable * 666 + "ก" * 2, "c-marks")
        rejected = await post(client, chat, syllable * 667, "c-marks-2")

        assert accepted.status_code == 202
        assert rejected.status_code == 422

    async def test_missing_client_message_id_is_rejected(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        response = await client.post(chat.messages_url, json={"text": "สวัสดี"}, headers=chat.headers)

        assert response.status_code == 422


class TestAuthorization:
    async def test_no_token_is_unauthorized(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)

        for method in ("POST", "GET"):
            response = await client.request(method, chat.messages_url, json=_body(method))
            assert response.status_code == 401, method

    async def test_bad_token_is_unauthorized(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        tampered = chat.token[:-2] + ("BB" if chat.token.endswith("AA") else "AA")
        headers = ["Bearer not-a-token", "Bearer ", "Basic abc", "bearer x.y.z", f"Bearer {tampered}"]

        for method in ("POST", "GET"):
            for header in headers:
                response = await client.request(
                    method, chat.messages_url, json=_body(method), headers={"Authorization": header}
                )
                assert response.status_code == 401, (method, header)

        assert await messages(client, chat) == []

    async def test_another_sessions_token_is_forbidden(self, client: httpx.AsyncClient) -> None:
        mine, theirs = await new_chat(client), await new_chat(client)

        for method in ("POST", "GET"):
            response = await client.request(
                method, theirs.messages_url, json=_body(method), headers=mine.headers
            )
            assert response.status_code == 403, method

        assert await messages(client, theirs) == []

    async def test_unknown_session_is_not_found(self, client: httpx.AsyncClient, services: Services) -> None:
        ghost = Chat("no-such-session", services.webchat_tokens.sign("no-such-session"))

        for method in ("POST", "GET"):
            response = await client.request(
                method, ghost.messages_url, json=_body(method), headers=ghost.headers
            )
            assert response.status_code == 404, method


def _body(method: str) -> dict[str, str] | None:
    return {"text": "สวัสดี", "client_message_id": "c-auth"} if method == "POST" else None


class TestListMessages:
    async def test_messages_have_the_contract_shape(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        await post(client, chat, QUESTION, "c-1")

        listed = await bot_replies(client, chat)

        for message in await messages(client, chat):
            assert set(message) == MESSAGE_KEYS
            assert isinstance(message["id"], str)
            assert message["direction"] in {"in", "out"}
            assert message["sender"] in {"citizen", "bot", "officer"}
            assert isinstance(message["text"], str)
            assert dt.datetime.fromisoformat(message["created_at"]).utcoffset() is not None
            assert all(isinstance(option, str) for option in message["quick_replies"])
        assert listed[0]["sender"] == "bot"

    async def test_messages_come_in_order(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        texts = [f"ข้อความที่ {n}" for n in range(1, 6)]
        for n, text in enumerate(texts):
            assert (await post(client, chat, text, f"c-{n}")).status_code == 202

        listed = await messages(client, chat)

        assert [m["text"] for m in listed if m["direction"] == "in"] == texts
        ids = [int(m["id"]) for m in listed]
        assert ids == sorted(ids)
        # Each side's times follow its order. Across sides they may cross by a moment: a reply's row
        # can take its id before a message the citizen sent meanwhile (two transactions at once).
        for direction in ("in", "out"):
            stamps = [
                dt.datetime.fromisoformat(m["created_at"]) for m in listed if m["direction"] == direction
            ]
            assert stamps == sorted(stamps)

    async def test_after_excludes_the_message_it_names(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        ids = [(await post(client, chat, f"ข้อความ {n}", f"c-{n}")).json()["message_id"] for n in range(3)]

        later = await messages(client, chat, after=ids[0])

        assert all(int(m["id"]) > int(ids[0]) for m in later)
        assert [m["id"] for m in later if m["direction"] == "in"] == ids[1:]

    async def test_after_the_last_message_is_empty(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        chat = await new_chat(client)
        await post(client, chat, "ข้อความเดียว", "c-1")
        await bot_replies(client, chat)
        await queue_drained(services)
        last = (await messages(client, chat))[-1]["id"]

        assert await messages(client, chat, after=last) == []

    async def test_after_an_unknown_id_is_a_bad_request(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        await post(client, chat, "สวัสดี", "c-1")

        for after in ("999999999", "not-an-id", "", "-1", "1.5"):
            response = await client.get(chat.messages_url, params={"after": after}, headers=chat.headers)
            assert response.status_code == 400, after

    async def test_after_another_sessions_message_is_a_bad_request(self, client: httpx.AsyncClient) -> None:
        mine, theirs = await new_chat(client), await new_chat(client)
        await post(client, mine, "ของฉัน", "c-1")
        their_id = (await post(client, theirs, "ของเขา", "c-1")).json()["message_id"]

        response = await client.get(mine.messages_url, params={"after": their_id}, headers=mine.headers)

        assert response.status_code == 400


class TestBotReply:
    async def test_a_thai_question_gets_an_answer_with_its_source_link(
        self, client: httpx.AsyncClient
    ) -> None:
        chat = await new_chat(client)
        question_id = (await post(client, chat, QUESTION, "c-1")).json()["message_id"]

        replies = await bot_replies(client, chat)

        answer = replies[0]
        assert answer["sender"] == "bot"
        assert int(answer["id"]) > int(question_id)
        assert re.search(r"[\u0E00-\u0E7F]", answer["text"]), "the answer is in Thai"
        assert re.search(r"https?://\S+", answer["text"]), "the answer names its official source"

    async def test_an_answer_offers_a_person_among_its_quick_replies(self, client: httpx.AsyncClient) -> None:
        chat = await new_chat(client)
        await post(client, chat, QUESTION, "c-1")

        replies = await bot_replies(client, chat)

        assert "คุยกับเจ้าหน้าที่" in replies[0]["quick_replies"]


async def open_socket(server: LiveServer, session_id: str, token: str) -> ClientConnection:
    url = f"ws://127.0.0.1:{server.port}/api/webchat/sessions/{session_id}/ws?token={token}"
    return await connect(url, open_timeout=10)


async def next_message(socket: ClientConnection, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
    event = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    assert event["type"] == "message"
    message: dict[str, Any] = event["message"]
    return message


class TestWebSocket:
    async def test_pushes_the_citizens_message_and_the_bot_reply(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            chat = await new_chat(http)
            socket = await open_socket(live_server, chat.session_id, chat.token)
            try:
                message_id = (await post(http, chat, QUESTION, "c-ws")).json()["message_id"]
                pushed: dict[str, dict[str, Any]] = {}
                while not any(m["direction"] == "out" for m in pushed.values()):
                    message = await next_message(socket)
                    assert set(message) == MESSAGE_KEYS
                    pushed[message["id"]] = message
            finally:
                await socket.close()
            assert pushed[message_id]["text"] == QUESTION
            reply = next(m for m in pushed.values() if m["direction"] == "out")
            assert reply["sender"] == "bot"
            assert reply in await messages(http, chat)

    async def test_pushes_only_the_sessions_own_messages(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            mine, theirs = await new_chat(http), await new_chat(http)
            socket = await open_socket(live_server, mine.session_id, mine.token)
            try:
                await post(http, theirs, "ของคนอื่น", "c-1")
                own_id = (await post(http, mine, "ของฉัน", "c-1")).json()["message_id"]
                first = await next_message(socket)
            finally:
                await socket.close()
            assert first["id"] == own_id

    @pytest.mark.parametrize("token", ["", "forged"])
    async def test_refuses_a_missing_or_invalid_token(self, live_server: LiveServer, token: str) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            chat = await new_chat(http)

        with pytest.raises(InvalidStatus):
            await open_socket(live_server, chat.session_id, token)

    async def test_refuses_another_sessions_token(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            mine, theirs = await new_chat(http), await new_chat(http)

        with pytest.raises(InvalidStatus):
            await open_socket(live_server, theirs.session_id, mine.token)

    def test_an_open_socket_does_not_keep_the_hub_from_stopping(self, settings: Settings) -> None:
        async def open_and_leave(server: LiveServer) -> ClientConnection:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                chat = await new_chat(http)
            return await open_socket(server, chat.session_id, chat.token)

        server = LiveServer(settings)
        with server:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(open_and_leave(server))
                started = time.monotonic()
            finally:
                loop.close()
        assert time.monotonic() - started < 10
        assert not server.thread.is_alive()
