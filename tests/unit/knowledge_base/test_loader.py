from __future__ import annotations

import asyncio
import logging

import pytest
import yaml

from knowledge_base.loader import (
    DEFAULT_ROOT,
    KnowledgeBaseError,
    KnowledgeBaseStore,
    knowledge_base_of,
    load_departments,
    load_knowledge_base,
)
from tests.unit.knowledge_base.conftest import FILING_QUESTIONS, NAME_QUESTIONS, WriteKb, entry_yaml

CORRECTED = "คำตอบที่แก้ไขแล้ว เข้าระบบ e-Registration แล้วเลือกเมนูจองชื่อนิติบุคคลค่ะ"


def required_ids() -> dict[str, str]:
    data = yaml.safe_load((DEFAULT_ROOT / "departments.yml").read_text(encoding="utf-8"))
    return dict(data["required_ids"])


class TestLoadKnowledgeBase:
    def test_shipped_knowledge_base_has_every_required_entry_in_its_department(self) -> None:
        kb = load_knowledge_base()
        assert {
            faq_id: entry.department for faq_id, entry in kb.entries.items() if faq_id in required_ids()
        } == (required_ids())
        assert set(kb.departments) == {"registration", "accounts", "information", "general", "complaints"}

    def test_entries_keep_file_order(self, write_kb: WriteKb) -> None:
        kb = load_knowledge_base(write_kb().root)
        # faq/accounts.yml sorts before faq/registration.yml
        assert list(kb.entries) == ["financial_statement_submission", "name_reservation"]

    def test_entry_looks_up_by_id(self, write_kb: WriteKb) -> None:
        kb = load_knowledge_base(write_kb().root)
        entry = kb.entry("name_reservation")
        assert entry is not None and entry.questions == NAME_QUESTIONS
        assert kb.entry("no_such_entry") is None

    def test_fingerprint_is_stable_and_follows_the_bytes(self, write_kb: WriteKb) -> None:
        tmp = write_kb()
        first = load_knowledge_base(tmp.root).fingerprint
        assert load_knowledge_base(tmp.root).fingerprint == first
        tmp.write(
            "faq/registration.yml", entry_yaml("name_reservation", "registration", NAME_QUESTIONS[::-1])
        )
        assert load_knowledge_base(tmp.root).fingerprint != first

    def test_invalid_file_raises_with_file_and_line(self, write_kb: WriteKb) -> None:
        tmp = write_kb(registration=entry_yaml("name_reservation", "marketing", NAME_QUESTIONS))
        with pytest.raises(KnowledgeBaseError) as raised:
            load_knowledge_base(tmp.root)
        line = tmp.line_of("faq/registration.yml", "department: marketing")
        assert f"registration.yml:{line}: error: entry 'name_reservation': unknown department" in str(
            raised.value
        )
        assert len(raised.value.problems) == 1

    def test_quality_rules_do_not_stop_loading(self, write_kb: WriteKb) -> None:
        # too few questions is for `govchat kb validate`; the hub still serves the entry
        tmp = write_kb(
            accounts=entry_yaml("financial_statement_submission", "accounts", FILING_QUESTIONS[:3])
        )
        assert load_knowledge_base(tmp.root).entry("financial_statement_submission") is not None


class TestKnowledgeBaseStore:
    def test_reload_makes_a_corrected_answer_current(self, write_kb: WriteKb) -> None:
        tmp = write_kb()
        store = KnowledgeBaseStore(tmp.root)
        tmp.write(
            "faq/registration.yml",
            entry_yaml("name_reservation", "registration", NAME_QUESTIONS, answer=CORRECTED),
        )
        assert store.reload() is True
        entry = store.current.entry("name_reservation")
        assert entry is not None and entry.answer == CORRECTED

    def test_invalid_edit_keeps_the_previous_knowledge_base(
        self, write_kb: WriteKb, caplog: pytest.LogCaptureFixture
    ) -> None:
        tmp = write_kb()
        store = KnowledgeBaseStore(tmp.root)
        before = store.current
        tmp.write("faq/registration.yml", "- id: name_reservation\n  department: [broken\n")
        with caplog.at_level(logging.WARNING, logger="knowledge_base.loader"):
            assert store.reload() is False
        assert store.current is before
        assert "kb_reload_rejected" in caplog.text and "registration.yml:" in caplog.text

    def test_unchanged_files_keep_the_same_knowledge_base(self, write_kb: WriteKb) -> None:
        store = KnowledgeBaseStore(write_kb().root)
        before = store.current
        assert store.reload() is True
        assert store.current is before

    def test_invalid_files_at_start_raise(self, write_kb: WriteKb) -> None:
        tmp = write_kb(accounts="- just a string\n")
        with pytest.raises(KnowledgeBaseError):
            KnowledgeBaseStore(tmp.root)


class TestOnChange:
    def test_listeners_hear_each_new_knowledge_base_and_nothing_when_it_is_unchanged(
        self, write_kb: WriteKb
    ) -> None:
        tmp = write_kb()
        store = KnowledgeBaseStore(tmp.root)
        heard: list[str] = []
        store.on_change(lambda kb: heard.append(kb.fingerprint))
        assert store.reload() is True
        assert heard == []
        tmp.write(
            "faq/registration.yml", entry_yaml("name_reservation", "registration", NAME_QUESTIONS[::-1])
        )
        assert store.reload() is True
        assert heard == [store.current.fingerprint]

    def test_a_failing_listener_does_not_keep_the_others_from_hearing(
        self, write_kb: WriteKb, caplog: pytest.LogCaptureFixture
    ) -> None:
        tmp = write_kb()
        store = KnowledgeBaseStore(tmp.root)
        heard: list[str] = []

        def broken(_kb: object) -> None:
            raise RuntimeError("listener bug")

        store.on_change(broken)
        stop = store.on_change(lambda kb: heard.append(kb.fingerprint))
        tmp.write(
            "faq/registration.yml", entry_yaml("name_reservation", "registration", NAME_QUESTIONS[::-1])
        )
        with caplog.at_level(logging.ERROR):
            assert store.reload() is True
        assert heard == [store.current.fingerprint]
        assert "kb_change_listener_failed" in caplog.text
        stop()
        tmp.write("faq/registration.yml", entry_yaml("name_reservation", "registration", NAME_QUESTIONS))
        assert store.reload() is True
        assert len(heard) == 1  # stopped listening


class TestWatch:
    async def test_a_saved_correction_takes_effect_without_reload(self, write_kb: WriteKb) -> None:
        tmp = write_kb()
        store = KnowledgeBaseStore(tmp.root)
        stop = asyncio.Event()
        watcher = asyncio.create_task(store.watch(stop))
        try:

            def current_answer() -> str | None:
                entry = store.current.entry("name_reservation")
                return entry.answer if entry else None

            corrected = entry_yaml("name_reservation", "registration", NAME_QUESTIONS, answer=CORRECTED)
            async with asyncio.timeout(20):
                # the watcher may not be listening yet: save again until it notices
                while current_answer() != CORRECTED:
                    tmp.write("faq/registration.yml", corrected)
                    for _ in range(20):
                        await asyncio.sleep(0.05)
                        if current_answer() == CORRECTED:
                            break
        finally:
            stop.set()
            await asyncio.wait_for(watcher, timeout=10)
        assert watcher.exception() is None

    async def test_stop_ends_the_watch(self, write_kb: WriteKb) -> None:
        store = KnowledgeBaseStore(write_kb().root)
        stop = asyncio.Event()
        watcher = asyncio.create_task(store.watch(stop))
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(watcher, timeout=10)
        assert watcher.done()


class TestReplaceAndListen:
    def test_a_different_knowledge_base_replaces_the_current_one_and_listeners_hear_of_it(
        self, write_kb: WriteKb
    ) -> None:
        kb = load_knowledge_base(write_kb().root)
        store = KnowledgeBaseStore(initial=kb)
        heard: list[str] = []
        stop = store.on_change(lambda fresh: heard.append(fresh.fingerprint))
        entries = list(kb.entries.values())
        fewer = knowledge_base_of(kb.departments, entries[:1])
        store.replace(fewer)
        store.replace(knowledge_base_of(kb.departments, entries[:1]))  # the same content: no news
        assert store.current is fewer and heard == [fewer.fingerprint]
        stop()
        store.replace(knowledge_base_of(kb.departments, entries))
        assert heard == [fewer.fingerprint]

    def test_the_fingerprint_follows_the_content_not_the_objects(self, write_kb: WriteKb) -> None:
        kb = load_knowledge_base(write_kb().root)
        entries = list(kb.entries.values())
        same = knowledge_base_of(kb.departments, entries)
        assert same.fingerprint == knowledge_base_of(dict(kb.departments), list(entries)).fingerprint
        changed = entries[0].model_copy(update={"answer": CORRECTED})
        assert knowledge_base_of(kb.departments, [changed, *entries[1:]]).fingerprint != same.fingerprint

    def test_departments_load_alone(self) -> None:
        departments = load_departments()
        assert "general" in departments.departments
        assert departments.required_ids["contact_channels"] == "general"
