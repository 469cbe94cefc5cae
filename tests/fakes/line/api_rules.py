"""What the fake LINE API checks in a request body (limits from ``messaging-api.yml``)."""

from __future__ import annotations

import struct
import uuid
from typing import Any

from starlette.responses import JSONResponse


def error_response(status: int, message: str, details: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers={"x-line-request-id": str(uuid.uuid4())})


def check_messages(messages: Any) -> JSONResponse | None:
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return error_response(
            400,
            "The request body has 1 error(s)",
            [{"message": "Size must be between 1 and 5", "property": "messages"}],
        )
    for n, message in enumerate(messages):
        problem = _message_problem(message)
        if problem:
            return error_response(
                400,
                "The request body has 1 error(s)",
                [{"message": problem[1], "property": f"messages[{n}].{problem[0]}"}],
            )
    return None


def _message_problem(message: Any) -> tuple[str, str] | None:
    if not isinstance(message, dict):
        return "", "must be an object"
    kind = message.get("type")
    if kind == "text":
        if not isinstance(message.get("text"), str) or not 1 <= len(message["text"]) <= 5000:
            return "text", "Length must be between 1 and 5000"
    elif kind == "flex":
        if not isinstance(message.get("altText"), str) or not 1 <= len(message["altText"]) <= 1500:
            return "altText", "Length must be between 1 and 1500"
        contents = message.get("contents")
        if not isinstance(contents, dict) or contents.get("type") not in ("bubble", "carousel"):
            return "contents", "invalid flex container"
        for action in _actions(contents):
            problem = _action_problem(action, label_limit=40)
            if problem:
                return "contents", problem
    else:
        return "type", f"unsupported message type {kind!r}"
    quick = message.get("quickReply")
    if quick is not None:
        items = quick.get("items") if isinstance(quick, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= 13:
            return "quickReply.items", "Size must be between 1 and 13"
        for item in items:
            problem = _action_problem(item.get("action") if isinstance(item, dict) else None, label_limit=20)
            if problem:
                return "quickReply.items", problem
    return None


def _actions(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node["action"]] if "action" in node else []
        return found + [a for value in node.values() for a in _actions(value)]
    if isinstance(node, list):
        return [a for value in node for a in _actions(value)]
    return []


def _action_problem(action: Any, label_limit: int) -> str | None:
    if not isinstance(action, dict):
        return "action must be an object"
    label = action.get("label")
    if label is not None and (not isinstance(label, str) or not 1 <= len(label) <= label_limit):
        return f"label length must be between 1 and {label_limit}"
    kind = action.get("type")
    if kind == "message" and not (isinstance(action.get("text"), str) and 1 <= len(action["text"]) <= 300):
        return "text length must be between 1 and 300"
    if kind == "uri" and not str(action.get("uri", "")).startswith(("http://", "https://", "tel:", "line:")):
        return "invalid uri"
    if kind == "postback" and not (isinstance(action.get("data"), str) and 1 <= len(action["data"]) <= 300):
        return "data length must be between 1 and 300"
    if kind not in ("message", "uri", "postback"):
        return f"unsupported action {kind!r}"
    return None


def check_rich_menu(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "must be an object"
    size = body.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if (
        not isinstance(width, int)
        or not isinstance(height, int)
        or not 800 <= width <= 2500
        or height < 250
        or width / height < 1.45
    ):
        return "invalid size"
    if not 1 <= len(str(body.get("chatBarText", ""))) <= 14 or not 1 <= len(str(body.get("name", ""))) <= 300:
        return "invalid chatBarText or name"
    areas = body.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
        return "areas must hold 1 to 20 areas"
    for area in areas:
        b = area.get("bounds", {})
        if (
            b.get("x", -1) < 0
            or b.get("y", -1) < 0
            or b["x"] + b["width"] > width
            or b["y"] + b["height"] > height
        ):
            return "area out of bounds"
        problem = _action_problem(area.get("action"), label_limit=20)
        if problem:
            return problem
    return None


def png_size(image: bytes) -> tuple[int, int] | None:
    if not image.startswith(b"\x89PNG\r\n\x1a\n") or image[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", image[16:24])
    return int(width), int(height)
