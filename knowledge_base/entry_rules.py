"""The rules one FAQ entry must pass, each with its reason in English (``kb validate``) and Thai (the console).

``govchat kb validate`` applies them to every entry of the files; the hub applies the same ones to a
single entry an officer drafts, against the other entries in service, so the two refuse the same
things. A finding names the field it is about (``loc``), so the editor can show it beside the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from knowledge_base.language import is_english, is_english_sentence
from knowledge_base.schema import Department, FaqEntry

MIN_QUESTIONS = 8
MIN_ANSWER_CHARS = 40
MAX_ANSWER_CHARS = 400  # about two screens of a small phone
MAX_ANSWER_EN_CHARS = 700  # the same screens: English takes about 1.7 times the characters of Thai
NEAR_DUPLICATE_JACCARD = 0.8
OFFICIAL_HOST_SUFFIX = ".go.th"

_THAI = re.compile(r"[\u0e00-\u0e7f]")
_REPEATS = re.compile(r"(.)\1+")
_SPACES_AND_MARKS = re.compile(r"[\s?!.,:;'\"()\u200b-]+")
# Polite and softening particles, longest first, stripped where a phrase ends.
_PARTICLES = (
    "ครับผม",
    "ครับ",
    "คับ",
    "ค่ะ",
    "คะ",
    "ค่า",
    "คร่ะ",
    "จ้ะ",
    "จ๊ะ",
    "จ้า",
    "จ๊า",
    "นะ",
    "น้า",
    "น๊ะ",
    "ฮะ",
    "ฮับ",
    "อ่ะ",
    "อะ",
)
_COLLAPSED_PARTICLES = tuple(sorted({_REPEATS.sub(r"\1", p) for p in _PARTICLES}, key=len, reverse=True))


@dataclass(frozen=True)
class EntryFinding:
    """One rule an entry breaks: where (``loc`` inside the entry), and why in English and in Thai."""

    loc: tuple[str | int, ...]
    message: str
    message_th: str

    @property
    def field(self) -> str:
        return str(self.loc[0]) if self.loc else "entry"


def _strip_particles(phrase: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for particle in _COLLAPSED_PARTICLES:
            if phrase.endswith(particle):
                phrase, stripped = phrase[: -len(particle)], True
                break
    return phrase


def normalize_question(text: str) -> str:
    """Lower-case, repeats collapsed, phrase-final particles and all spacing removed."""
    collapsed = _REPEATS.sub(r"\1", text.lower())
    stripped = "".join(_strip_particles(phrase) for phrase in _SPACES_AND_MARKS.split(collapsed))
    return stripped or _SPACES_AND_MARKS.sub("", collapsed)  # a question that is only particles


def trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(max(len(text) - 2, 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def has_thai(text: str) -> bool:
    return bool(_THAI.search(text))


def text_findings(entry: FaqEntry) -> Iterator[EntryFinding]:
    """Texts a citizen reads on a phone and questions the NLU learns from."""
    answer_length = len(entry.answer.strip())
    if answer_length > MAX_ANSWER_CHARS:
        yield EntryFinding(
            ("answer",),
            f"answer is {answer_length} characters, at most {MAX_ANSWER_CHARS} fit a phone screen"
            " (move the rest to 'detail')",
            f"คำตอบยาว {answer_length} ตัวอักษร ยาวได้ไม่เกิน {MAX_ANSWER_CHARS} ตัวอักษร (ย้ายส่วนที่เหลือไปที่รายละเอียด)",
        )
    elif answer_length < MIN_ANSWER_CHARS:
        yield EntryFinding(
            ("answer",),
            f"answer is {answer_length} characters, at least {MIN_ANSWER_CHARS}",
            f"คำตอบยาว {answer_length} ตัวอักษร ต้องยาวอย่างน้อย {MIN_ANSWER_CHARS} ตัวอักษร",
        )
    for name, label, text in (("title", "หัวข้อ", entry.title), ("answer", "คำตอบ", entry.answer)):
        if not has_thai(text):
            yield EntryFinding((name,), f"{name} has no Thai text", f"{label}ต้องมีข้อความภาษาไทย")
    yield from _english_findings(entry)
    for index, question in enumerate(entry.questions):
        if not has_thai(question) and not is_english_sentence(question):
            yield EntryFinding(
                ("questions", index),
                f"question {question!r} has no Thai text and is not an English question",
                f"คำถาม “{question}” ไม่มีข้อความภาษาไทยและไม่ใช่ประโยคคำถามภาษาอังกฤษ",
            )
    thai_questions = sum(1 for q in entry.questions if has_thai(q))
    if thai_questions < MIN_QUESTIONS:
        in_thai = " in Thai" if thai_questions < len(entry.questions) else ""
        yield EntryFinding(
            ("questions",),
            f"has {thai_questions} questions{in_thai}, at least {MIN_QUESTIONS} needed",
            f"มีคำถามภาษาไทย {thai_questions} ข้อ ต้องมีอย่างน้อย {MIN_QUESTIONS} ข้อ",
        )
    if entry.source_url.scheme != "https" or not (entry.source_url.host or "").endswith(OFFICIAL_HOST_SUFFIX):
        yield EntryFinding(
            ("source_url",),
            f"source_url {str(entry.source_url)!r} is not an official https://…{OFFICIAL_HOST_SUFFIX} page",
            f"แหล่งที่มาต้องเป็นหน้าเว็บทางการ https://…{OFFICIAL_HOST_SUFFIX}",
        )


def _english_findings(entry: FaqEntry) -> Iterator[EntryFinding]:
    """``title_en`` and ``answer_en`` come together, in English, as short as the Thai answer allows."""
    if (entry.title_en is None) != (entry.answer_en is None):
        missing, present = ("answer_en", "title_en") if entry.answer_en is None else ("title_en", "answer_en")
        missing_th = "คำตอบภาษาอังกฤษ" if missing == "answer_en" else "หัวข้อภาษาอังกฤษ"
        yield EntryFinding((present,), f"{missing} is missing", f"ต้องใส่{missing_th}คู่กันด้วย")
    for name, label, text in (
        ("title_en", "หัวข้อภาษาอังกฤษ", entry.title_en),
        ("answer_en", "คำตอบภาษาอังกฤษ", entry.answer_en),
    ):
        if text is not None and (has_thai(text) or not is_english(text)):
            yield EntryFinding((name,), f"{name} is not English text", f"{label}ต้องเป็นข้อความภาษาอังกฤษ")
    if entry.answer_en is not None and len(entry.answer_en.strip()) > MAX_ANSWER_EN_CHARS:
        length = len(entry.answer_en.strip())
        yield EntryFinding(
            ("answer_en",),
            f"answer_en is {length} characters, at most {MAX_ANSWER_EN_CHARS}",
            f"คำตอบภาษาอังกฤษยาว {length} ตัวอักษร ยาวได้ไม่เกิน {MAX_ANSWER_EN_CHARS} ตัวอักษร",
        )


def question_findings(entry: FaqEntry, others: Iterable[FaqEntry]) -> Iterator[EntryFinding]:
    """A question repeated in the entry, or the same or nearly the same as another entry's: both confuse the NLU."""
    taken: dict[str, FaqEntry] = {}
    other_grams: list[tuple[FaqEntry, str, frozenset[str]]] = []
    for other in others:
        if other.id == entry.id:
            continue
        for question in other.questions:
            key = normalize_question(question)
            taken.setdefault(key, other)
            other_grams.append((other, question, trigrams(key)))
    own: set[str] = set()
    for index, question in enumerate(entry.questions):
        key = normalize_question(question)
        if key in own:
            yield EntryFinding(
                ("questions", index),
                f"question {question!r} repeats one of this entry",
                f"คำถาม “{question}” ซ้ำกับคำถามอื่นในรายการนี้",
            )
            continue
        own.add(key)
        if key in taken:
            other = taken[key]
            yield EntryFinding(
                ("questions", index),
                f"question {question!r} repeats one in entry {other.id!r}",
                f"คำถาม “{question}” ซ้ำกับคำถามของรายการ “{other.title}”",
            )
            continue
        grams = trigrams(key)
        for other, other_question, other_key_grams in other_grams:
            score = jaccard(grams, other_key_grams)
            if score >= NEAR_DUPLICATE_JACCARD:
                yield EntryFinding(
                    ("questions", index),
                    f"question {question!r} is nearly the same as {other_question!r} of entry {other.id!r},"
                    f" similarity {score:.2f}",
                    f"คำถาม “{question}” เกือบเหมือนคำถาม “{other_question}” ของรายการ “{other.title}”",
                )
                break


def placement_findings(
    entry: FaqEntry,
    known_ids: Iterable[str],
    departments: Mapping[str, Department],
    required_ids: Mapping[str, str],
) -> Iterator[EntryFinding]:
    """The entry's department exists and owns it when it is a required one; ``related`` names entries in service."""
    known = set(known_ids)
    if entry.department not in departments:
        yield EntryFinding(
            ("department",),
            f"unknown department {entry.department!r}",
            f"ไม่มีฝ่าย “{entry.department}”",
        )
    owner = required_ids.get(entry.id)
    if owner is not None and owner != entry.department:
        yield EntryFinding(
            ("department",),
            f"must be owned by department {owner!r}, not {entry.department!r}",
            f"รายการนี้ต้องอยู่กับ{departments[owner].name_th if owner in departments else owner}",
        )
    for index, related in enumerate(entry.related):
        if related == entry.id:
            yield EntryFinding(
                ("related", index), "related lists the entry itself", "รายการที่เกี่ยวข้องต้องไม่ใช่รายการนี้เอง"
            )
        elif related not in known:
            yield EntryFinding(
                ("related", index),
                f"related names unknown entry {related!r}",
                f"ไม่มีรายการ “{related}” ที่ให้บริการอยู่",
            )
