"""The floor under the hub: a FastAPI app that only acknowledges LINE webhooks and replies.

No database, no NLU, no queue: verify the signature (line-bot-sdk), parse the body, answer
200, then reply through line-bot-sdk's ``AsyncMessagingApi`` with a fixed text. It is what
any FastAPI + line-bot-sdk service spends per message before doing anything useful, so the
rate it sustains on this machine bounds what the hub can reach on the same stack.
``benchmarks/load.py --configs bare-fastapi`` runs it in place of ``govchat serve``:

    .venv/bin/python benchmarks/load.py --configs bare-fastapi --rates 100,200,300 --skip-peer

Not part of the product; it answers every message with the same text.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhook import SignatureValidator

ANSWER = "รับเรื่องแล้วค่ะ"

validator = SignatureValidator(os.environ["LINE_CHANNEL_SECRET"])
replying: set[asyncio.Task[None]] = set()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    config = Configuration(
        host=os.environ["LINE_API_BASE_URL"], access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"]
    )
    app.state.client = AsyncApiClient(config)  # aiohttp wants the running loop
    yield
    await app.state.client.close()


app = FastAPI(lifespan=lifespan)


async def reply(token: str) -> None:
    request = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text=ANSWER, quick_reply=None)])
    await AsyncMessagingApi(app.state.client).reply_message(request)


@app.post("/webhooks/line")
async def line_webhook(request: Request) -> Response:
    body = await request.body()
    if not validator.validate(body.decode("utf-8"), request.headers.get("X-Line-Signature", "")):
        raise HTTPException(401, "invalid signature")
    for event in json.loads(body).get("events", []):
        if event.get("replyToken"):
            task = asyncio.create_task(reply(event["replyToken"]))
            replying.add(task)
            task.add_done_callback(replying.discard)
    return Response(status_code=200)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/metrics")
async def metrics() -> Response:
    return Response("", media_type="text/plain")
