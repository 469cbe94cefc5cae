"""Thai text normalisation and word segmentation shared by every NLU backend.

The Rasa tokenizer component and the embedded engine both call these two functions, so
the model sees the same tokens in training, in Rasa and in the fallback engine.
Runs on Python 3.10 (Rasa's environment) and 3.11 (the hub): keep it dependency-light.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pythainlp.tokenize import word_tokenize

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# "ครับบบบ" -> "ครับ", "ค่าาาา" -> "ค่า": a letter repeated three or more times is emphasis.
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1{2,}")
# Thai "ๆ" after a space is still the repetition mark; normalise spacing around it.
_MAI_YAMOK = re.compile(r"\s*ๆ")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFC, Thai digits to Arabic, lower-case Latin, emphasis repeats collapsed, spaces folded."""
    text = unicodedata.normalize("NFC", text).translate(_THAI_DIGITS).lower()
    text = _REPEATED_LETTER.sub(r"\1", text)
    text = _MAI_YAMOK.sub("ๆ", text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=4096)
def _segment(normalized: str) -> tuple[str, ...]:
    words = word_tokenize(normalized, engine="newmm", keep_whitespace=False)
    return tuple(w for w in (w.strip() for w in words) if w)


def tokenize(text: str) -> list[str]:
    """Words of ``text`` after ``normalize`` (PyThaiNLP ``newmm``, dictionary-based, offline)."""
    return list(_segment(normalize(text)))
