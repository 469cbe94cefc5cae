"""``govchat facebook setup``: Get Started, greeting and persistent menu through the Messenger Profile API."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.channel_commands import cmd_facebook_setup, facebook_setup
from app.cli import build_parser
from app.settings import Settings
from channels.base import POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS, POSTBACK_GET_STARTED, POSTBACK_HUMAN
from channels.facebook.profile import PROFILE_TEMPLATE, load_profile
from knowledge_base.loader import load_knowledge_base
from tests.fakes.facebook.graph_api import PAGE_ACCESS_TOKEN, FakeGraphApi, MessengerFixtures, invalid_token
from tests.integration.facebook.conftest import messenger_settings


@pytest.fixture
def setup_settings(
    sqlite_url: str, tmp_path: Path, graph_api: FakeGraphApi, messenger_fixtures: MessengerFixtures
) -> Settings:
    return messenger_settings(sqlite_url, tmp_path, graph_api, messenger_fixtures)


class TestSetup:
    async def test_sets_get_started_greeting_and_menu_in_one_call(
        self, setup_settings: Settings, graph_api: FakeGraphApi
    ) -> None:
        out = io.StringIO()

        assert await facebook_setup(setup_settings, PROFILE_TEMPLATE, out) == 0

        [request] = graph_api.profiles()
        assert request.path == "/v21.0/me/messenger_profile"
        assert request.params["access_token"] == PAGE_ACCESS_TOKEN
        body = request.body
        assert body["get_started"] == {"payload": POSTBACK_GET_STARTED}
        assert {g["locale"] for g in body["greeting"]} == {"default", "en_US"}
        assert all(len(g["text"]) <= 160 for g in body["greeting"])
        assert "Messenger profile set" in out.getvalue()

    async def test_the_menu_offers_faq_categories_an_officer_and_complaints(
        self, setup_settings: Settings, graph_api: FakeGraphApi
    ) -> None:
        await facebook_setup(setup_settings, PROFILE_TEMPLATE, io.StringIO())

        kb = load_knowledge_base()
        for menu in graph_api.profiles()[0].body["persistent_menu"]:
            actions = menu["call_to_actions"]
            payloads = [a.get("payload") for a in actions if a["type"] == "postback"]
            assert menu["composer_input_disabled"] is False
            assert len(actions) <= 20 and all(len(a["title"]) <= 30 for a in actions)
            assert {POSTBACK_HUMAN, POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS} <= set(payloads)
            faq_ids = [p.removeprefix("faq:") for p in payloads if p.startswith("faq:")]
            departments = {entry.department for faq_id in faq_ids if (entry := kb.entry(faq_id))}
            assert len(departments) == len(faq_ids) >= 3  # one entry per category

    async def test_a_graph_error_is_reported_and_exits_1(
        self, setup_settings: Settings, graph_api: FakeGraphApi
    ) -> None:
        graph_api.fail(invalid_token(), kind="profile")
        out = io.StringIO()

        assert await facebook_setup(setup_settings, PROFILE_TEMPLATE, out) == 1
        assert "190" in out.getvalue()
        assert PAGE_ACCESS_TOKEN not in out.getvalue()

    def test_dry_run_prints_the_body_and_calls_nothing(
        self, setup_settings: Settings, graph_api: FakeGraphApi, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = build_parser().parse_args(["facebook", "setup", "--dry-run"])

        assert args.handler is cmd_facebook_setup
        assert args.handler(args, setup_settings) == 0
        assert json.loads(capsys.readouterr().out)["get_started"]["payload"] == POSTBACK_GET_STARTED
        assert graph_api.requests == []

    async def test_a_menu_naming_an_unknown_entry_is_refused(
        self, setup_settings: Settings, tmp_path: Path, graph_api: FakeGraphApi
    ) -> None:
        profile = tmp_path / "profile.yml"
        profile.write_text(
            PROFILE_TEMPLATE.read_text(encoding="utf-8").replace("faq:e_service_list", "faq:no_such_entry"),
            encoding="utf-8",
        )
        out = io.StringIO()

        assert await facebook_setup(setup_settings, profile, out) == 1
        assert "no_such_entry" in out.getvalue()
        assert graph_api.requests == []

    def test_the_shipped_profile_is_valid(self) -> None:
        profile = load_profile()

        assert [m.locale for m in profile.menu] == ["default", "en_US"]
