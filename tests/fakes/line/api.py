"""A fake LINE Messaging API: a real HTTP server on loopback that behaves like the documented one.

``FakeLineApi().url`` stands for ``https://api.line.me`` and ``.data_url`` (``/data`` on the
same server) for ``https://api-data.line.me``; content and rich menu images are served only
there, so a client that ignores ``LINE_DATA_API_BASE_URL`` fails. What it enforces, after
``messaging-api.yml``: the bearer token; reply tokens it issued, single-use and expiring
("Invalid reply token", 400); 1-5 messages per request and their limits (quick reply items,
labels, altText); ``X-Line-Retry-Key`` (a UUID; a key already accepted answers 409 with
``x-line-accepted-request-id``); the loading animation's rules; message content; rich menus.

Tests steer it with ``script`` (canned answers, e.g. 500 then 429 with Retry-After, or
"accept, then answer 500" to imitate a lost response), ``storm`` (canned answers in turn
for every call during a period, however many calls come) and ``delay``, and read what it
recorded with ``requests`` and ``deliveries``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.line.api_rules import check_messages, check_rich_menu, error_response, png_size

ACCESS_TOKEN = "test-channel-access-token"
BOT_USER_ID = "U0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Scripted:
    """A canned answer. ``accept``: do the real work first, then answer this (a lost response)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accept: bool = False


@dataclass(frozen=True)
class Recorded:
    endpoint: str
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int
    at: float  # when the answer left
    answer_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """Messages LINE accepted for a chat, in acceptance order."""

    chat_id: str
    via: str  # reply | push
    messages: list[dict[str, Any]]
    at: float
    retry_key: str | None = None

    def texts(self) -> list[str]:
        return [str(m.get("text") or m.get("altText") or "") for m in self.messages]


def _ok(body: dict[str, Any] | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse(body or {}, status_code=status, headers={"x-line-request-id": str(uuid.uuid4())})


class FakeLineApi:
    def __init__(self, access_token: str = ACCESS_TOKEN, bot_user_id: str = BOT_USER_ID) -> None:
        self.access_token = access_token
        self.bot_user_id = bot_user_id
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_url = f"{self.url}/data"
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._deliveries: list[Delivery] = []
        self._reply_tokens: dict[str, tuple[str, float]] = {}  # token -> (chat id, expiry)
        self._accepted_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._storms: dict[str, tuple[float, Iterator[Scripted]]] = {}
        self._contents: dict[str, tuple[bytes, str]] = {}
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, tuple[bytes, str]] = {}
        self.default_rich_menu: str | None = None
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_config=None, lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeLineApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LINE API did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # -- steering --------------------------------------------------------------------------

    def issue_reply_token(self, chat_id: str, ttl: float = 60.0) -> str:
        """A token LINE would put in a webhook event of ``chat_id``, valid for ``ttl`` seconds."""
        token = uuid.uuid4().hex
        with self._lock:
            self._reply_tokens[token] = (chat_id, time.time() + ttl)
        return token

    def add_content(self, message_id: str, content: bytes, content_type: str) -> None:
        with self._lock:
            self._contents[message_id] = (content, content_type)

    def script(self, endpoint: str, *answers: Scripted) -> None:
        """Answer the next calls of ``endpoint`` (reply, push, loading, content, ...) like this."""
        with self._lock:
            self._scripts[endpoint].extend(answers)

    def storm(self, endpoint: str, seconds: float, *answers: Scripted) -> None:
        """For the next ``seconds``, answer every call of ``endpoint`` with ``answers`` in turn."""
        with self._lock:
            self._storms[endpoint] = (time.time() + seconds, itertools.cycle(answers))

    def delay(self, endpoint: str, seconds: float) -> None:
        with self._lock:
            self._delays[endpoint] = seconds

    # -- inspection ------------------------------------------------------------------------

    def requests(self, endpoint: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def deliveries(self, chat_id: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if chat_id is None or d.chat_id == chat_id]

    def delivered_texts(self, chat_id: str) -> list[str]:
        return [text for d in self.deliveries(chat_id) for text in d.texts()]

    # -- the HTTP app ----------------------------------------------------------------------

    def _app(self) -> Starlette:
        def route(
            path: str, endpoint: str, handler: Callable[[Request], Awaitable[Response]], method: str
        ) -> Route:
            async def serve(request: Request) -> Response:
                return await self._serve(endpoint, request, handler)

            return Route(path, serve, methods=[method])

        return Starlette(
            routes=[
                route("/v2/bot/message/reply", "reply", self._reply, "POST"),
                route("/v2/bot/message/push", "push", self._push, "POST"),
                route("/v2/bot/chat/loading/start", "loading", self._loading, "POST"),
                route("/data/v2/bot/message/{message_id}/content", "content", self._content, "GET"),
                route("/v2/bot/richmenu", "richmenu_create", self._create_rich_menu, "POST"),
                route("/v2/bot/richmenu/list", "richmenu_list", self._list_rich_menus, "GET"),
                route("/v2/bot/richmenu/{menu_id}", "richmenu_delete", self._delete_rich_menu, "DELETE"),
                route(
                    "/data/v2/bot/richmenu/{menu_id}/content", "richmenu_image", self._upload_image, "POST"
                ),
                route("/v2/bot/user/all/richmenu/{menu_id}", "richmenu_default", self._set_default, "POST"),
                route("/v2/bot/user/all/richmenu", "richmenu_get_default", self._get_default, "GET"),
            ]
        )

    async def _serve(
        self, endpoint: str, request: Request, handler: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        raw = await request.body()
        is_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            parsed: Any = json.loads(raw) if is_json and raw else raw
        except ValueError:
            parsed = raw
        with self._lock:
            delay = self._delays.get(endpoint, 0.0)
            scripted = self._scripts[endpoint].popleft() if self._scripts[endpoint] else None
            storm = self._storms.get(endpoint)
            if scripted is None and storm is not None and time.time() < storm[0]:
                scripted = next(storm[1])
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            response: Response = error_response(
                401,
                "Authentication failed. Confirm that the access token in the authorization header is valid.",
            )
        elif scripted is not None and not scripted.accept:
            response = JSONResponse(
                scripted.body or {"message": "scripted"}, scripted.status, headers=scripted.headers
            )
        else:
            response = await handler(request)
            if scripted is not None and 200 <= response.status_code < 300:
                response = JSONResponse(
                    scripted.body or {"message": "scripted"}, scripted.status, headers=scripted.headers
                )
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            self._requests.append(
                Recorded(
                    endpoint,
                    request.method,
                    request.url.path,
                    dict(request.headers),
                    parsed,
                    response.status_code,
                    time.time(),
                    {k.lower(): v for k, v in response.headers.items()},
                )
            )
        return response

    async def _json(self, request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def _reply(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("replyToken"), str):
            return error_response(
                400,
                "The request body has 1 error(s)",
                [{"message": "May not be empty", "property": "replyToken"}],
            )
        problem = check_messages(body.get("messages"))
        if problem:
            return problem
        with self._lock:
            chat = self._reply_tokens.pop(body["replyToken"], None)
            if chat is None or chat[1] < time.time():
                return error_response(400, "Invalid reply token")
            self._deliveries.append(Delivery(chat[0], "reply", body["messages"], time.time()))
        return _ok({"sentMessages": [{"id": _message_id()} for _ in body["messages"]]})

    async def _push(self, request: Request) -> Response:
        body = await self._json(request)
        key = request.headers.get("x-line-retry-key")
        if key is not None and not _is_uuid(key):
            return error_response(400, "The value for the 'X-Line-Retry-Key' header is invalid")
        with self._lock:
            if key is not None and key in self._accepted_keys:
                request_id, sent = self._accepted_keys[key]
                return JSONResponse(
                    {"message": "The retry key is already accepted", "sentMessages": sent},
                    status_code=409,
                    headers={
                        "x-line-accepted-request-id": request_id,
                        "x-line-request-id": str(uuid.uuid4()),
                    },
                )
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("to"), str)
            or body["to"][:1] not in ("U", "C", "R")
        ):
            return error_response(
                400, "The request body has 1 error(s)", [{"message": "Invalid to", "property": "to"}]
            )
        problem = check_messages(body.get("messages"))
        if problem:
            return problem
        sent = [{"id": _message_id()} for _ in body["messages"]]
        request_id = str(uuid.uuid4())
        with self._lock:
            if key is not None:
                self._accepted_keys[key] = (request_id, sent)
            self._deliveries.append(Delivery(body["to"], "push", body["messages"], time.time(), key))
        return JSONResponse({"sentMessages": sent}, headers={"x-line-request-id": request_id})

    async def _loading(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not str(body.get("chatId", "")).startswith("U"):
            return error_response(
                400, "The request body has 1 error(s)", [{"message": "Invalid chatId", "property": "chatId"}]
            )
        seconds = body.get("loadingSeconds", 20)
        if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
            return error_response(
                400, "The request body has 1 error(s)", [{"message": "Invalid", "property": "loadingSeconds"}]
            )
        return _ok(status=202)

    async def _content(self, request: Request) -> Response:
        with self._lock:
            found = self._contents.get(request.path_params["message_id"])
        if found is None:
            return error_response(404, "Not found")
        return Response(found[0], media_type=found[1])

    async def _create_rich_menu(self, request: Request) -> Response:
        body = await self._json(request)
        problem = check_rich_menu(body)
        if problem:
            return error_response(
                400, "The request body has 1 error(s)", [{"message": problem, "property": "richMenu"}]
            )
        menu_id = f"richmenu-{uuid.uuid4().hex}"
        with self._lock:
            self.rich_menus[menu_id] = {"richMenuId": menu_id, **body}
        return _ok({"richMenuId": menu_id})

    async def _list_rich_menus(self, request: Request) -> Response:
        with self._lock:
            return _ok({"richmenus": list(self.rich_menus.values())})

    async def _delete_rich_menu(self, request: Request) -> Response:
        menu_id = request.path_params["menu_id"]
        with self._lock:
            if self.rich_menus.pop(menu_id, None) is None:
                return error_response(404, "Not found")
            self.rich_menu_images.pop(menu_id, None)
            if self.default_rich_menu == menu_id:
                self.default_rich_menu = None
        return _ok()

    async def _upload_image(self, request: Request) -> Response:
        menu_id = request.path_params["menu_id"]
        content_type = request.headers.get("content-type", "")
        image = await request.body()
        with self._lock:
            menu = self.rich_menus.get(menu_id)
            if menu is None:
                return error_response(404, "Not found")
            if menu_id in self.rich_menu_images:
                return error_response(400, "An image has already been uploaded to the richmenu")
        if content_type not in ("image/png", "image/jpeg") or len(image) > 1024 * 1024:
            return error_response(400, "An image has an invalid type or is too large")
        if content_type == "image/png" and png_size(image) != (
            menu["size"]["width"],
            menu["size"]["height"],
        ):
            return error_response(400, "An image has an invalid size")
        with self._lock:
            self.rich_menu_images[menu_id] = (image, content_type)
        return _ok()

    async def _set_default(self, request: Request) -> Response:
        menu_id = request.path_params["menu_id"]
        with self._lock:
            if menu_id not in self.rich_menus:
                return error_response(404, "Not found")
            if menu_id not in self.rich_menu_images:
                return error_response(400, "must upload richmenu image before applying it to user")
            self.default_rich_menu = menu_id
        return _ok()

    async def _get_default(self, request: Request) -> Response:
        with self._lock:
            if self.default_rich_menu is None:
                return error_response(404, "no default rich menu")
            return _ok({"richMenuId": self.default_rich_menu})


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _message_id() -> str:
    return str(uuid.uuid4().int)[:18]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
