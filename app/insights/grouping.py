"""Grouping the questions the bot could not answer, so one question in many wordings counts once.

Thai has no spaces between words and citizens spell freely ("ยังไง", "ยังงัย", "ทำไง"), add polite
particles ("ครับ", "ค่ะ", "คะะะ") and repeat letters for emphasis. Each text is therefore
masked, normalised (``nlu.thai_text.normalize`` plus PyThaiNLP's vowel and tone-mark repair),
segmented into words with PyThaiNLP, stripped of particles and question fillers, with common
spelling variants and loanwords unified ("พาสเวิร์ด", "password" -> "รหัสผ่าน"), and turned into
character n-grams within those words (TF-IDF). Texts whose cosine similarity to each other is at
least ``threshold`` on average are merged (average-linkage agglomeration).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from pythainlp.util import normalize as repair_thai
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from app.logging import mask_pii
from nlu.thai_text import normalize, tokenize

DEFAULT_THRESHOLD = 0.5
# Above this many distinct wordings only the most frequent are clustered (the matrix is n²).
MAX_DISTINCT_TEXTS = 2000
_WORD = re.compile(r"[\w\u0e00-\u0e7f]")
# Polite particles, pronouns and the fillers of a question ("how", "can I", "want to"): never what
# a question is about. (PyThaiNLP's stop-word list is too broad here: it drops "send", "late", "open".)
_FILLERS = frozenset(
    {"ครับ", "ครับผม", "คับ", "ค่ะ", "คะ", "ค่า", "คร่ะ", "จ้ะ", "จ๊ะ", "จ้า", "จ๊า", "นะ", "น้า", "น๊ะ"}
    | {"ฮะ", "ฮับ", "อ่ะ", "อะ", "เหรอ", "หรอ", "มั้ย", "ไหม", "มั๊ย", "ป่าว", "เปล่า", "บ้าง", "หน่อย"}
    | {"ผม", "ดิฉัน", "หนู", "เรา", "ฉัน", "รบกวน", "สอบถาม", "ขอถาม", "อยาก", "ต้องการ", "จะ", "ต้อง"}
    | {"ยังไง", "ยังงัย", "ยังงี้", "อย่างไร", "ไง", "ทำไง", "ทำ", "ได้", "การ", "ความ", "คือ", "ว่า", "อะไร"}
    | {"ที่", "ของ", "ใน", "และ", "หรือ", "กับ", "ให้", "แล้ว", "ก็", "เป็น", "มี", "ๆ", "วิธี", "ขั้นตอน"}
)
# Spellings and loanwords citizens use for the same word, mapped to one form.
_VARIANTS = {
    "เท่าไร": "เท่าไหร่",
    "เท่าใด": "เท่าไหร่",
    "ล่าช้า": "ช้า",
    "พาสเวิร์ด": "รหัสผ่าน",
    "password": "รหัสผ่าน",
    "พาสเวิด": "รหัสผ่าน",
    "online": "ออนไลน์",
    "อีเมล์": "อีเมล",
    "email": "อีเมล",
    "e-mail": "อีเมล",
    "เวปไซต์": "เว็บไซต์",
    "เว็บ": "เว็บไซต์",
    "website": "เว็บไซต์",
    "บ.": "บริษัท",
    "หจก.": "ห้างหุ้นส่วน",
    "หจก": "ห้างหุ้นส่วน",
    "นิติบุคคล": "บริษัท",
}


@lru_cache(maxsize=8192)
def grouping_key(text: str) -> str:
    """The words that carry a question's meaning, space-separated (masked and normalised first)."""
    cleaned = repair_thai(normalize(mask_pii(text)))
    words = [_VARIANTS.get(w, w) for w in tokenize(cleaned) if _WORD.search(w)]
    content = [w for w in words if w not in _FILLERS]
    return " ".join(content or words)


@dataclass
class QuestionGroup:
    """Paraphrases of one question: how often it was asked, one wording to show, the best guesses."""

    example: str  # masked
    count: int
    members: list[str] = field(default_factory=list)  # the masked wordings, most frequent first
    guesses: Counter[str] = field(default_factory=Counter)  # e.g. the FAQ the NLU ranked first

    @property
    def best_guess(self) -> str | None:
        ranked = sorted(self.guesses.items(), key=lambda item: (-item[1], item[0]))
        return ranked[0][0] if ranked else None


@dataclass
class _Wording:
    count: int = 0
    guesses: Counter[str] = field(default_factory=Counter)


def _similarities(keys: Sequence[str]) -> np.ndarray:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    matrix = vectorizer.fit_transform(keys)
    return np.asarray(cosine_similarity(matrix), dtype=np.float64)


def cluster_keys(keys: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """A cluster label per key: average-linkage merging while the cosine similarity ≥ ``threshold``."""
    if len(keys) < 2:
        return [0] * len(keys)
    if not any(keys):
        return [0] * len(keys)
    distances = np.clip(1.0 - _similarities(keys), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    clustering = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - threshold
    )
    # A merge happens below the threshold distance: "similar enough" is inclusive.
    labels = clustering.fit_predict(distances - 1e-9)
    return [int(label) for label in labels]


def group_questions(
    questions: Iterable[tuple[str, str | None]], threshold: float = DEFAULT_THRESHOLD
) -> list[QuestionGroup]:
    """Paraphrase groups of ``(text, guess)`` pairs, largest first; every shown text is masked."""
    by_key: dict[str, dict[str, _Wording]] = {}
    for text, guess in questions:
        wording = mask_pii(text or "").strip()
        if not wording:
            continue
        found = by_key.setdefault(grouping_key(wording), {}).setdefault(wording, _Wording())
        found.count += 1
        if guess:
            found.guesses[guess] += 1
    ranked = [
        (key, dict(sorted(wordings.items(), key=lambda item: (-item[1].count, len(item[0]), item[0]))))
        for key, wordings in sorted(by_key.items(), key=lambda item: (-_total(item[1]), item[0]))
    ]
    clustered, overflow = ranked[:MAX_DISTINCT_TEXTS], ranked[MAX_DISTINCT_TEXTS:]
    labels = cluster_keys([key for key, _ in clustered], threshold)
    merged: dict[int, dict[str, _Wording]] = {}
    for label, (_key, wordings) in zip(labels, clustered, strict=True):
        merged.setdefault(label, {}).update(wordings)  # the most asked wording first: the example
    groups = [_group(wordings) for wordings in merged.values()]
    groups += [_group(wordings) for _key, wordings in overflow]
    return sorted(groups, key=lambda g: (-g.count, g.example))


def _total(wordings: dict[str, _Wording]) -> int:
    return sum(w.count for w in wordings.values())


def _group(wordings: dict[str, _Wording]) -> QuestionGroup:
    """``wordings`` arrive most asked key first; within a key the most frequent wording leads."""
    members = list(wordings)
    guesses: Counter[str] = Counter()
    for wording in wordings.values():
        guesses.update(wording.guesses)
    return QuestionGroup(example=members[0], count=_total(wordings), members=members, guesses=guesses)
