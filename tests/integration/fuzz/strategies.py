"""Hypothesis strategies for hostile input: bytes, JSON of every shape, mutated platform bodies."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

THAI_LETTERS = "".join(chr(c) for c in range(0x0E01, 0x0E3B)) + "".join(chr(c) for c in range(0x0E40, 0x0E4F))
# Strings that broke parsers and databases elsewhere: NUL (PostgreSQL), lone surrogates (UTF-8),
# bidi and zero-width marks, a BOM, terminal escapes, line separators, combining marks.
SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202eevil",
    "\ufeffhello",
    "\u200b",
    "\x1b[31mred\x1b[0m",
    "line\u2028separator",
    "\r\n\t",
    "\x7f\x85\x9f",
    "e\u0301" * 50,
    "🇹🇭👍🏽",
    "9" * 300,
]


def thai_text(seed: int, length: int) -> str:
    """``length`` Thai letters without a single space (no word breaks for a tokenizer to use)."""
    rng = random.Random(seed)
    return "".join(rng.choice(THAI_LETTERS) for _ in range(length))


def long_thai(length: int = 10_000) -> st.SearchStrategy[str]:
    # Built from a seed: Hypothesis cannot draw 10,000 characters one by one within its buffer.
    return st.integers(0, 2**32).map(lambda seed: thai_text(seed, length))


control_characters = st.text(st.characters(min_codepoint=0, max_codepoint=0x9F), min_size=1, max_size=8)
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """Ordinary text with hostile pieces spliced in anywhere."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.text(max_size=20),
                st.text(alphabet=THAI_LETTERS, max_size=20),
                control_characters,
                surrogates,
                st.sampled_from(SPECIAL_STRINGS),
            ),
            min_size=1,
            max_size=5,
        )
    )
    # As the server will read it: in JSON a high surrogate followed by a low one is one character.
    text: str = json.loads(json.dumps("".join(pieces)))
    return text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    hostile_text(),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    """Serialise as a platform would, but keep lone surrogates (as ``\\udxxx`` escapes)."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def nested(depth: int, kind: str, inner: Any = 1) -> str:
    """``depth`` levels of arrays or objects around ``inner``, as JSON text."""
    if kind == "array":
        return "[" * depth + json.dumps(inner) + "]" * depth
    return '{"a":' * depth + json.dumps(inner) + "}" * depth


deep_json = st.builds(
    lambda depth, kind: nested(depth, kind).encode(),
    st.sampled_from([33, 200, 999, 1_001, 10_000]),
    st.sampled_from(["array", "object"]),
)


@st.composite
def not_json(draw: st.DrawFn) -> bytes:
    """Bytes that are not a JSON text a platform could mean: each is a 400 after a valid signature."""
    valid = dumps(draw(json_values))
    candidate = draw(
        st.one_of(
            st.binary(max_size=200),
            st.integers(0, len(valid) - 1).map(lambda cut: valid[:cut]),  # truncated
            st.just(valid + b"}"),
            st.just(b"\xef\xbb\xbf" + valid),  # a byte-order mark
            st.binary(min_size=1, max_size=20).map(lambda b: b'{"events": ["\xff' + b + b'"]}'),  # not UTF-8
            st.sampled_from([b"NaN", b'{"events": [Infinity]}', b"-Infinity", b"1" * 5_000]),
            deep_json,
        )
    )
    return candidate if not _is_json(candidate) else b"{" + candidate


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"), parse_constant=_refuse)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse(name: str) -> Any:
    raise ValueError(name)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, parents before children."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


wrong_values = st.one_of(
    json_values,
    st.just("x" * 300),  # longer than any stored id
    st.integers(33, 60).map(lambda depth: nested_value(depth)),
)


def nested_value(depth: int) -> Any:
    """``depth`` levels of lists around 1 (just past what a webhook body may nest)."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, document: Any, max_changes: int = 3) -> Any:
    """``document`` with one to ``max_changes`` places deleted, nulled or given a wrong value."""
    result = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_changes))):
        places = [p for p in paths(result) if p]
        if not places:
            return draw(json_values)
        place = draw(st.sampled_from(places))
        parent = result
        for step in place[:-1]:
            parent = parent[step]
        change = draw(st.sampled_from(["delete", "null", "wrong", "wrap"]))
        if change == "delete":
            del parent[place[-1]]
        elif change == "null":
            parent[place[-1]] = None
        elif change == "wrap":
            parent[place[-1]] = [parent[place[-1]]]
        else:
            parent[place[-1]] = draw(wrong_values)
    return result
