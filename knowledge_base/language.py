"""Which language a citizen wrote in: Thai (the default) or English.

Thai chat carries English nouns ("ลืม password เข้าระบบ dbd", "ขอ company affidavit จาก DBD"), and
foreign investors and their accountants write English with Thai terms in it ("how to get
หนังสือรับรอง online"). What tells them apart is the grammar, not the nouns: a message is English
when it has no Thai at all, or when it has English function words ("how", "to", "my", ...) and its
Latin letters are at least half its Thai base characters (combining vowel and tone marks are not
counted, so a Thai word weighs about its syllables).
"""

from __future__ import annotations

import re
import unicodedata

ENGLISH = "en"
THAI = "th"
# A single Latin word ("XBRL", "ok") says little about the language: Thai is the safe default.
MIN_LATIN_LETTERS = 4
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "be",
        "can",
        "could",
        "do",
        "does",
        "did",
        "how",
        "what",
        "where",
        "when",
        "why",
        "which",
        "who",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "it",
        "this",
        "that",
        "there",
        "please",
        "need",
        "want",
        "should",
        "get",
        "have",
        "has",
    ]
)
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def _counts(text: str) -> tuple[int, int]:
    latin = thai = 0
    for char in text:
        if "a" <= char.lower() <= "z":
            latin += 1
        elif "\u0e01" <= char <= "\u0e5b" and unicodedata.category(char) != "Mn":
            thai += 1
    return latin, thai


def detect_language(text: str) -> str:
    """``"en"`` when the text is mostly English, else ``"th"``."""
    latin, thai = _counts(text)
    if latin < MIN_LATIN_LETTERS:
        return THAI
    if thai == 0:
        return ENGLISH
    grammatical = any(word.lower() in FUNCTION_WORDS for word in _LATIN_WORD.findall(text))
    return ENGLISH if grammatical and 2 * latin >= thai else THAI


def is_english(text: str) -> bool:
    return detect_language(text) == ENGLISH


def is_english_sentence(text: str) -> bool:
    """English with at least one function word: a question, not a stray term ("name check")."""
    return is_english(text) and any(word.lower() in FUNCTION_WORDS for word in _LATIN_WORD.findall(text))
