"""Keep copies of the images and files citizens send on LINE, so officers see them later.

LINE holds message content only for a while and only behind the channel's token
(``GET {LINE_DATA_API_BASE_URL}/v2/bot/message/{id}/content``). A worker downloads it after
the webhook was answered and writes ``<var>/attachments/line/<conversation>/<message id>.<ext>``;
the path (relative to the var dir) goes on the message's ``extra``.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from linebot.v3.messaging import ApiException, AsyncMessagingApiBlob

log = logging.getLogger(__name__)

STORED_KINDS = frozenset({"image", "file"})  # what an officer needs to see after escalation
_TRANSIENT = (aiohttp.ClientError, TimeoutError)
_IMAGE_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


class LineContentStore:
    def __init__(
        self,
        data_client: Callable[[], Any],
        var_dir: Path,
        *,
        timeout: aiohttp.ClientTimeout,
        max_bytes: int,
        attempts: int,
        retry_pause: float = 0.5,
    ) -> None:
        self._data_client = data_client
        self.var_dir = var_dir
        self.root = Path("attachments", "line")
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._retry_pause = retry_pause

    async def fetch_attachments(
        self, conversation_id: str, attachments: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Each attachment again, with ``stored_path``/``content_type``/``size`` or ``fetch_error``."""
        result = []
        for attachment in attachments:
            item = dict(attachment)
            # Content of an "external" provider lives at its URL, not at LINE.
            if item.get("kind") in STORED_KINDS and item.get("external_id") and not item.get("url"):
                item.update(await self._store(conversation_id, item))
            result.append(item)
        return result

    async def discard_attachments(self, attachments: Sequence[Mapping[str, Any]]) -> None:
        """Delete stored copies (only files under our own folder)."""
        root = (self.var_dir / self.root).resolve()
        for attachment in attachments:
            stored = attachment.get("stored_path")
            if not stored:
                continue
            path = (self.var_dir / str(stored)).resolve()
            if path.is_relative_to(root):
                await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _store(self, conversation_id: str, attachment: dict[str, Any]) -> dict[str, Any]:
        message_id = str(attachment["external_id"])
        declared = (attachment.get("meta") or {}).get("fileSize")
        if isinstance(declared, int) and declared > self._max_bytes:
            return {"fetch_error": "too large"}
        try:
            content, content_type = await self._download(message_id)
        except ApiException as error:
            log.warning("line_content_download_failed", extra={"status": error.status})
            return {"fetch_error": f"LINE API {error.status}"}
        except _TRANSIENT as error:
            log.warning("line_content_download_failed", extra={"error": type(error).__name__})
            return {"fetch_error": type(error).__name__}
        if len(content) > self._max_bytes:
            return {"fetch_error": "too large"}
        name = _safe(message_id) + _suffix(attachment, content_type)
        relative = self.root / _safe(conversation_id) / name
        await asyncio.to_thread(_write_file, self.var_dir / relative, content)
        return {"stored_path": relative.as_posix(), "content_type": content_type, "size": len(content)}

    async def _download(self, message_id: str) -> tuple[bytes, str]:
        """A few quick attempts: 429, 5xx and network errors may pass; 404 (expired) will not."""
        blob = AsyncMessagingApiBlob(self._data_client())
        for attempt in range(1, self._attempts + 1):
            try:
                response = await blob.get_message_content_with_http_info(
                    message_id, _request_timeout=self._timeout
                )
            except ApiException as error:
                if attempt == self._attempts or not (error.status == 429 or error.status >= 500):
                    raise
            except _TRANSIENT:
                if attempt == self._attempts:
                    raise
            else:
                content_type = str(response.headers.get("Content-Type", "application/octet-stream"))
                return bytes(response.data), content_type.split(";")[0].strip()
            await asyncio.sleep(self._retry_pause * attempt)
        raise AssertionError("unreachable")


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:128] or "_"


def _suffix(attachment: Mapping[str, Any], content_type: str) -> str:
    if content_type in _IMAGE_SUFFIXES:
        return _IMAGE_SUFFIXES[content_type]
    suffix = Path(str(attachment.get("filename") or "")).suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
        return suffix
    return mimetypes.guess_extension(content_type) or ".bin"


def _write_file(path: Path, content: bytes) -> None:
    """Readable by the hub's user only: a citizen's file is personal data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    partial.replace(path)
