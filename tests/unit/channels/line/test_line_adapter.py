"""``LineAdapter`` against the fake LINE API: reply or push, errors, loading animation, content."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from linebot.v3.messaging import PushMessageRequest, ReplyMessageRequest

from channels.base import (
    FaqCard,
    FinalSendError,
    InboundKind,
    InboundMessage,
    OutboundMessage,
    ReplyContext,
    RetryableSendError,
)
from channels.line.adapter import LineAdapter
from channels.line.messages import (
    MAX_QUICK_REPLIES,
    LineLabels,
    build_messages,
    build_quick_reply,
    shorten,
)
from tests.fakes.line.api import FakeLineApi, Scripted

USER = "U1111111111111111111111111111111a"
GROUP = "C2222222222222222222222222222222b"
LABELS = LineLabels(source="ดูข้อมูลทางการ", human="คุยกับเจ้าหน้าที่")


@pytest.fixture
def fake() -> Iterator[FakeLineApi]:
    with FakeLineApi() as server:
        yield server


@pytest.fixture
async def adapter(fake: FakeLineApi, tmp_path: Path) -> AsyncIterator[LineAdapter]:
    line = LineAdapter(
        channel_secret="secret",
        access_token=fake.access_token,
        api_base_url=fake.url,
        data_api_base_url=fake.data_url,
        labels=LABELS,
        var_dir=tmp_path,
        config_errors={},
        timeout_seconds=2.0,
    )
    yield line
    await line.aclose()


def outbound(
    n: int = 1,
    *,
    to: str = USER,
    token: str | None = None,
    expires_in: float = 30.0,
    quick_replies: tuple[str, ...] = (),
    faq: FaqCard | None = None,
    text: str | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        message_id=str(n),
        conversation_id="conv1",
        user_id=to,
        text=text or f"ข้อความที่ {n}",
        sender="bot",
        quick_replies=quick_replies,
        faq=faq,
        retry_key=str(uuid.uuid4()),
        reply_context=(
            ReplyContext(token, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)) if token else None
        ),
    )


def inbound(user_id: str = USER, group_id: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="line",  # type: ignore[arg-type]
        dedupe_key="k",
        user_id=user_id,
        kind=InboundKind.TEXT,
        timestamp=dt.datetime.now(dt.UTC),
        group_id=group_id,
    )


class TestReply:
    async def test_fresh_token_replies_with_the_whole_batch_in_one_call(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        token = fake.issue_reply_token(USER)
        batch = [outbound(1, token=token), outbound(2, token=fake.issue_reply_token(USER)), outbound(3)]
        results = await adapter.send(batch)
        assert [r.via for r in results] == ["reply"] * 3
        assert all(r.platform_message_id for r in results)
        (call,) = fake.requests("reply")
        assert call.json["replyToken"] == token
        assert fake.delivered_texts(USER) == ["ข้อความที่ 1", "ข้อความที่ 2", "ข้อความที่ 3"]

    async def test_a_later_fresh_token_is_used_when_the_first_is_stale(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        fresh = fake.issue_reply_token(USER)
        results = await adapter.send([outbound(1, token="old", expires_in=-5), outbound(2, token=fresh)])
        assert [r.via for r in results] == ["reply", "reply"]
        assert fake.requests("reply")[0].json["replyToken"] == fresh

    async def test_expired_token_is_not_tried_and_each_message_is_pushed(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        batch = [outbound(1, token=fake.issue_reply_token(USER), expires_in=-1), outbound(2)]
        results = await adapter.send(batch)
        assert [r.via for r in results] == ["push", "push"]
        assert fake.requests("reply") == []
        pushes = fake.requests("push")
        assert [p.headers["x-line-retry-key"] for p in pushes] == [m.retry_key for m in batch]
        assert [len(p.json["messages"]) for p in pushes] == [1, 1]

    async def test_invalid_reply_token_falls_back_to_push(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        results = await adapter.send([outbound(1, token="never-issued")])
        assert [r.via for r in results] == ["push"]
        assert fake.requests("reply")[0].status == 400
        assert fake.delivered_texts(USER) == ["ข้อความที่ 1"]

    async def test_a_used_token_falls_back_to_push(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        token = fake.issue_reply_token(USER)
        await adapter.send([outbound(1, token=token)])
        results = await adapter.send([outbound(2, token=token)])
        assert [r.via for r in results] == ["push"]


class TestPushRetries:
    async def test_a_retried_push_after_a_lost_answer_is_not_sent_twice(
        self, adapter: LineAdapter, fake: FakeLineApi, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)  # every log call on the way must be valid
        fake.script("push", Scripted(500, accept=True))  # LINE took it, but we saw a 500
        message = outbound(1)
        with pytest.raises(RetryableSendError):
            await adapter.send([message])
        results = await adapter.send([message])
        assert [r.via for r in results] == ["push"]
        assert results[0].platform_message_id  # from the 409's sentMessages
        assert [r.status for r in fake.requests("push")] == [500, 409]
        assert len(fake.deliveries(USER)) == 1

    async def test_429_is_retryable_with_retry_after(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.script("push", Scripted(429, {"message": "Too Many Requests"}, {"Retry-After": "7"}))
        with pytest.raises(RetryableSendError) as caught:
            await adapter.send([outbound(1)])
        assert caught.value.retry_after == 7.0

    async def test_monthly_quota_is_final(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.script("push", Scripted(429, {"message": "You have reached your monthly limit."}))
        with pytest.raises(FinalSendError) as caught:
            await adapter.send([outbound(1)])
        assert caught.value.config_error

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_server_errors_are_retryable(
        self, adapter: LineAdapter, fake: FakeLineApi, status: int
    ) -> None:
        fake.script("push", Scripted(status, {"message": "Internal error"}))
        with pytest.raises(RetryableSendError, match=str(status)):
            await adapter.send([outbound(1)])

    async def test_server_error_on_reply_is_retryable(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.script("reply", Scripted(500, {"message": "Internal error"}))
        with pytest.raises(RetryableSendError):
            await adapter.send([outbound(1, token=fake.issue_reply_token(USER))])

    async def test_a_timeout_is_retryable(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.delay("push", 3.0)
        with pytest.raises(RetryableSendError, match="Timeout"):
            await adapter.send([outbound(1)])

    async def test_other_4xx_is_final(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.script("push", Scripted(400, {"message": "The request body has 1 error(s)"}))
        with pytest.raises(FinalSendError) as caught:
            await adapter.send([outbound(1)])
        assert not caught.value.user_unreachable and not caught.value.config_error

    async def test_an_invalid_recipient_is_unreachable(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        with pytest.raises(FinalSendError) as caught:
            await adapter.send([outbound(1, to="nobody")])
        assert caught.value.user_unreachable

    async def test_a_rejected_token_is_a_configuration_error(self, fake: FakeLineApi, tmp_path: Path) -> None:
        errors: dict[str, str] = {}
        line = LineAdapter(
            channel_secret="s",
            access_token="revoked",
            api_base_url=fake.url,
            data_api_base_url=fake.data_url,
            labels=LABELS,
            var_dir=tmp_path,
            config_errors=errors,
        )
        try:
            with pytest.raises(FinalSendError) as caught:
                await line.send([outbound(1)])
        finally:
            await line.aclose()
        assert caught.value.config_error
        assert "401" in errors["line"]


class TestMessageObjects:
    FAQ = FaqCard("name_reservation", "จองชื่อนิติบุคคล", "https://e-regis.dbd.go.th/")

    async def test_faq_answer_is_a_flex_card_with_source_and_officer_buttons(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        text = "จองชื่อได้ทางออนไลน์ค่ะ\nดูข้อมูลทางการ: https://e-regis.dbd.go.th/"
        await adapter.send([outbound(1, token=fake.issue_reply_token(USER), faq=self.FAQ, text=text)])
        (message,) = fake.requests("reply")[0].json["messages"]
        assert message["type"] == "flex"
        assert message["altText"] == text  # what desktop and notifications show
        body, footer = message["contents"]["body"], message["contents"]["footer"]
        assert [c["text"] for c in body["contents"]] == ["จองชื่อนิติบุคคล", "จองชื่อได้ทางออนไลน์ค่ะ"]
        source, human = (button["action"] for button in footer["contents"])
        assert source == {"type": "uri", "label": "ดูข้อมูลทางการ", "uri": "https://e-regis.dbd.go.th/"}
        assert human["type"] == "postback" and human["data"] == "human"
        assert human["displayText"] == "คุยกับเจ้าหน้าที่"

    async def test_a_rejected_card_is_sent_again_as_plain_text(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        fake.script(
            "reply", Scripted(400, {"message": "A message (messages[0]) in the request body is invalid"})
        )
        results = await adapter.send([outbound(1, token=fake.issue_reply_token(USER), faq=self.FAQ)])
        assert [r.via for r in results] == ["reply"]
        assert fake.deliveries(USER)[0].messages[0]["type"] == "text"

    async def test_quick_replies_become_message_actions_within_limits(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        options = tuple(f"หัวข้อที่ {n} เรื่องการจดทะเบียนบริษัทจำกัด" for n in range(20))
        await adapter.send([outbound(1, token=fake.issue_reply_token(USER), quick_replies=options)])
        items = fake.requests("reply")[0].json["messages"][0]["quickReply"]["items"]
        assert len(items) == MAX_QUICK_REPLIES
        assert all(len(i["action"]["label"]) <= 20 for i in items)
        assert items[0]["action"]["text"] == options[0]  # tapping sends the whole title
        assert fake.requests("reply")[0].status == 200

    async def test_requests_carry_what_the_sdk_itself_would_serialise(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        """The messages' JSON is built once; on the wire it must equal the SDK's own ``to_dict``."""
        batch = [
            outbound(1, token=fake.issue_reply_token(USER), faq=self.FAQ, quick_replies=("ก", "ข")),
            outbound(2, quick_replies=("ค",)),
            outbound(3),
        ]
        models = [m.model for m in build_messages(batch, LABELS)]
        await adapter.send(batch)
        sent = fake.requests("reply")[0].json
        context = batch[0].reply_context
        assert context is not None
        assert sent == ReplyMessageRequest(reply_token=context.token, messages=models).to_dict()
        assert [m["type"] for m in sent["messages"]] == ["flex", "text", "text"]

        await adapter.send([outbound(4, faq=self.FAQ)])  # no token: pushed
        pushed = fake.requests("push")[0].json
        (model,) = (m.model for m in build_messages([outbound(4, faq=self.FAQ)], LABELS))
        assert pushed == PushMessageRequest(to=USER, messages=[model]).to_dict()

    def test_duplicate_and_blank_options_are_dropped(self) -> None:
        quick = build_quick_reply(["ก", "ก", " ", "ข"])
        assert quick is not None and [i.action.text for i in quick.items] == ["ก", "ข"]
        assert build_quick_reply([]) is None

    def test_shortening_never_strands_a_thai_mark(self) -> None:
        title = "หนังสือรับรองนิติบุคคลอิเล็กทรอนิกส์"
        short = shorten(title, 20)
        assert len(short) <= 20 and short.endswith("…")
        assert title.startswith(short[:-1])
        first_dropped = title[len(short) - 1]
        assert unicodedata.category(first_dropped) not in ("Mn", "Mc")

    def test_shortening_keeps_a_leading_vowel_with_its_consonant(self) -> None:
        assert shorten("กกกกเก", 6) == "กกกกเก"
        assert shorten("กกกกเกก", 6) == "กกกก…"

    def test_short_text_is_unchanged(self) -> None:
        assert shorten("คุยกับเจ้าหน้าที่", 20) == "คุยกับเจ้าหน้าที่"


class TestLoadingAnimation:
    async def test_one_to_one_chat_shows_the_loading_animation(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        await adapter.show_processing(inbound())
        (call,) = fake.requests("loading")
        assert call.json == {"chatId": USER, "loadingSeconds": 20}
        assert call.status == 202

    async def test_group_chat_shows_nothing(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        await adapter.show_processing(inbound(GROUP, group_id=GROUP))
        assert fake.requests("loading") == []

    async def test_a_failure_is_harmless(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.script("loading", Scripted(500))
        await adapter.show_processing(inbound())
        assert fake.requests("loading")[0].status == 500


class TestContent:
    async def test_an_image_is_downloaded_from_the_data_api_and_stored(
        self, adapter: LineAdapter, fake: FakeLineApi, tmp_path: Path
    ) -> None:
        fake.add_content("9001", b"\xff\xd8jpeg-bytes", "image/jpeg")
        (stored,) = await adapter.fetch_attachments("conv1", [{"kind": "image", "external_id": "9001"}])
        assert stored["stored_path"] == "attachments/line/conv1/9001.jpg"
        assert stored["content_type"] == "image/jpeg" and stored["size"] == 12
        assert (tmp_path / stored["stored_path"]).read_bytes() == b"\xff\xd8jpeg-bytes"
        assert fake.requests("content")[0].path == "/data/v2/bot/message/9001/content"

    async def test_a_file_keeps_its_extension(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.add_content("9002", b"%PDF-1.7", "application/octet-stream")
        (stored,) = await adapter.fetch_attachments(
            "conv1", [{"kind": "file", "external_id": "9002", "filename": "คำร้อง.PDF"}]
        )
        assert stored["stored_path"].endswith("/9002.pdf")

    async def test_expired_content_is_recorded_not_raised(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        (stored,) = await adapter.fetch_attachments("conv1", [{"kind": "image", "external_id": "gone"}])
        assert stored["fetch_error"] == "LINE API 404" and "stored_path" not in stored

    async def test_a_passing_server_error_is_retried(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        fake.add_content("9003", b"png", "image/png")
        fake.script("content", Scripted(503))
        (stored,) = await adapter.fetch_attachments("conv1", [{"kind": "image", "external_id": "9003"}])
        assert stored["stored_path"].endswith("9003.png")

    async def test_stickers_locations_and_external_content_are_not_fetched(
        self, adapter: LineAdapter, fake: FakeLineApi
    ) -> None:
        attachments = [
            {"kind": "sticker", "external_id": "1"},
            {"kind": "location", "external_id": "2"},
            {"kind": "image", "external_id": "3", "url": "https://example.com/a.jpg"},
        ]
        assert await adapter.fetch_attachments("conv1", attachments) == attachments
        assert fake.requests("content") == []

    async def test_too_large_a_file_is_not_fetched(self, adapter: LineAdapter, fake: FakeLineApi) -> None:
        attachment = {"kind": "file", "external_id": "4", "meta": {"fileSize": 10**9}}
        (stored,) = await adapter.fetch_attachments("conv1", [attachment])
        assert stored["fetch_error"] == "too large" and fake.requests("content") == []

    async def test_discard_deletes_only_our_files(
        self, adapter: LineAdapter, fake: FakeLineApi, tmp_path: Path
    ) -> None:
        fake.add_content("9004", b"x", "image/png")
        (stored,) = await adapter.fetch_attachments("conv1", [{"kind": "image", "external_id": "9004"}])
        outside = tmp_path / "keep.txt"
        outside.write_text("keep")
        await adapter.discard_attachments(
            [stored, {"stored_path": "../keep.txt"}, {"stored_path": "keep.txt"}]
        )
        assert not (tmp_path / stored["stored_path"]).exists()
        assert outside.exists()


@pytest.mark.usefixtures("no_proxy_environment")
class TestProxy:
    """The environment's proxy is read once, when the client is built, and then used for every call."""

    UNRESOLVABLE = "http://api.line.invalid"  # reachable only through the proxy (the fake)

    def proxied_adapter(self, fake: FakeLineApi, tmp_path: Path) -> LineAdapter:
        return LineAdapter(
            channel_secret="secret",
            access_token=fake.access_token,
            api_base_url=self.UNRESOLVABLE,
            data_api_base_url=f"{self.UNRESOLVABLE}/data",
            labels=LABELS,
            var_dir=tmp_path,
            config_errors={},
            timeout_seconds=2.0,
        )

    async def test_sends_go_through_the_proxy_the_environment_names(
        self, fake: FakeLineApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", fake.url)  # the fake answers proxied requests too
        line = self.proxied_adapter(fake, tmp_path)
        try:
            first = await line.send([outbound(1)])
            monkeypatch.delenv("HTTP_PROXY")  # read when the client was built: later changes do not matter
            second = await line.send([outbound(2)])
        finally:
            await line.aclose()
        assert [r.via for r in first + second] == ["push", "push"]
        assert len(fake.deliveries(USER)) == 2

    async def test_no_proxy_hosts_are_called_directly(
        self, fake: FakeLineApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", fake.url)
        monkeypatch.setenv("NO_PROXY", "api.line.invalid")
        line = self.proxied_adapter(fake, tmp_path)
        try:
            with pytest.raises(RetryableSendError):  # the name does not resolve
                await line.send([outbound(1)])
        finally:
            await line.aclose()
        assert fake.deliveries(USER) == []
