"""Decoding a verified webhook body into JSON the hub can store, or ``PayloadError`` with a reason.

``json.loads`` alone accepts more than a platform ever sends, and some of it fails later, far
from the request (a 500, or a worker that cannot store its reply):

- nesting deeper than the interpreter's recursion limit raises ``RecursionError``;
- integers over 4,300 digits raise a plain ``ValueError``;
- ``NaN``/``Infinity`` are not JSON, and PostgreSQL refuses them in a JSON column;
- ``"\\u0000"`` and unpaired surrogates (``"\\ud800"``) decode to strings that PostgreSQL
  (NUL) or UTF-8 itself (surrogates) cannot store.

LINE and Messenger bodies are a few levels deep, hence the small depth bound.
"""

from __future__ import annotations

import json
import re
from typing import Any

from channels.base import PayloadError

MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def decode_body(body: bytes, not_json: str) -> Any:
    """The JSON value of ``body``; ``not_json`` starts the reason when it is not JSON at all."""
    try:
        return _check_storable(json.loads(body.decode("utf-8"), parse_constant=_refuse_constant))
    except UnicodeDecodeError as error:
        raise PayloadError(f"{not_json}: not UTF-8") from error
    except RecursionError as error:
        raise PayloadError(f"body is nested deeper than {MAX_DEPTH} levels") from error
    except json.JSONDecodeError as error:
        raise PayloadError(f"{not_json}: {error.msg} at character {error.pos}") from error
    except ValueError as error:  # an over-long integer, NaN or Infinity
        raise PayloadError(f"{not_json}: {error}") from error


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_storable(data: Any) -> Any:
    """Walk the value without recursion: depth bound, and no string that cannot be stored."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise PayloadError(f"body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(key)
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_string(value)
    return data


def _check_string(text: str) -> None:
    if _UNSTORABLE.search(text):
        # No value is echoed: it may be personal data.
        raise PayloadError(
            "body holds U+0000 or an unpaired surrogate (\\ud800-\\udfff), which cannot be stored"
        )
