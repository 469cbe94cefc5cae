"""Where each normalised word lies in the original message (pure Python, no Rasa import).

``nlu.thai_text.tokenize`` returns words of the *normalised* text: Thai digits turned
Arabic, Latin lower-cased, emphasis runs collapsed ("ครับบบ" -> "ครับ"), spaces folded.
Rasa wants every token's ``start``/``end`` in the message as the citizen typed it, so we
walk the original text and match each word against it, mirroring ``normalize``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# normalize() collapses a letter repeated three or more times into one
_MIN_COLLAPSED_RUN = 3


def _fold(char: str) -> str:
    return unicodedata.normalize("NFC", char).translate(_THAI_DIGITS).lower()


def _run_lengths(folded: Sequence[str]) -> list[int]:
    """For each position, how many identical folded characters follow (itself included)."""
    runs = [1] * len(folded)
    for i in range(len(folded) - 2, -1, -1):
        if folded[i] == folded[i + 1]:
            runs[i] = runs[i + 1] + 1
    return runs


def _is_collapsible(folded_char: str) -> bool:
    return len(folded_char) == 1 and folded_char.isalpha()


def _match_at(word: str, start: int, folded: Sequence[str], runs: Sequence[int]) -> int:
    """End offset if ``word`` matches the original text from ``start``, else -1."""
    i, j, n = start, 0, len(folded)
    while j < len(word):
        if i >= n:
            return -1
        if word[j].isspace():
            if not folded[i].isspace():
                return -1
            while i < n and folded[i].isspace():
                i += 1
            j += 1
            continue
        piece = folded[i]
        if not piece or not word.startswith(piece, j):
            return -1
        j += len(piece)
        run = runs[i]
        i += run if run >= _MIN_COLLAPSED_RUN and _is_collapsible(piece) else 1
    return i


def align(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` in ``text`` for each normalised word, in order, never overlapping.

    A word that cannot be matched exactly (e.g. Unicode reordering of combining marks)
    gets the span of the same length after the previous word, so offsets stay monotonic.
    """
    folded = [_fold(c) for c in text]
    runs = _run_lengths(folded)
    spans: list[tuple[int, int]] = []
    position = 0
    for word in words:
        # only whitespace and collapsed repeats are dropped by normalize(), so the next
        # word starts at the next non-space character
        start = position
        while start < len(text) - 1 and text[start].isspace():
            start += 1
        end = _match_at(word, start, folded, runs)
        if end <= start:
            start = min(start, max(len(text) - 1, 0))
            end = min(len(text), start + max(len(word), 1))
        spans.append((start, end))
        position = end
    return spans
