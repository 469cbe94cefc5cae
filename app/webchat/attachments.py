"""Files a citizen sends in web chat: JPEG, PNG or PDF up to 10 MB, checked by their content.

They are kept as LINE's are (``channels/line/content.py``): a file under
``<var>/attachments/webchat/<conversation>/``, its path relative to the var dir on the
message's ``extra["attachments"]``. The officer console lists and serves them from there, and
retention and a citizen's erasure delete them with the message (``app/insights``).

The body is never held whole in memory: the upload is streamed (Starlette spools the file
part to disk past 1 MB) and stopped with 413 once it passes the limit, whatever
``Content-Length`` claimed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive, Scope

MAX_FILE_BYTES = 10 * 1024 * 1024
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers, the client_message_id field
MAX_BODY_BYTES = MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES
ROOT = Path("attachments", "webchat")
_UPLOAD_PATH = re.compile(r"^/api/webchat/sessions/[^/]+/attachments$")


@dataclass(frozen=True)
class FileType:
    kind: str  # as LINE's attachments: "image" or "file"
    content_type: str
    suffix: str


# Recognised by their first bytes, not by the name or the type the browser claims.
_SIGNATURES: tuple[tuple[bytes, FileType], ...] = (
    (b"\xff\xd8\xff", FileType("image", "image/jpeg", ".jpg")),
    (b"\x89PNG\r\n\x1a\n", FileType("image", "image/png", ".png")),
    (b"%PDF-", FileType("file", "application/pdf", ".pdf")),
)


class TooLarge(Exception):
    """The body passed ``MAX_BODY_BYTES`` (413)."""


class Unsupported(Exception):
    """Not a JPEG, PNG or PDF (415)."""


class BadUpload(Exception):
    """Not a multipart body with one ``file`` part (422)."""


def streams_its_own_body(scope: Scope) -> bool:
    """For ``BodySizeLimit``: the upload route bounds its body itself, at a larger size."""
    return scope.get("method") == "POST" and bool(_UPLOAD_PATH.match(str(scope.get("path", ""))))


def sniff(head: bytes) -> FileType:
    for signature, file_type in _SIGNATURES:
        if head.startswith(signature):
            return file_type
    raise Unsupported("only JPEG, PNG and PDF files are accepted")


def display_name(filename: str | None, file_type: FileType) -> str:
    """The citizen's file name for officers to read: no folders, no control characters, short."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()[:120]
    return name or "attachment" + file_type.suffix


def _bounded(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receiving() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge(f"larger than {MAX_FILE_BYTES} bytes")
        return message

    return receiving


@dataclass
class Upload:
    """The parsed upload; ``close()`` frees its spooled file."""

    file: UploadFile
    file_type: FileType
    size: int
    filename: str
    client_message_id: str | None

    async def save(self, var_dir: Path, conversation_id: str, name: str) -> str:
        """Write it as ``attachments/webchat/<conversation>/<name><suffix>``; the relative path."""
        relative = ROOT / conversation_id / (name + self.file_type.suffix)
        await asyncio.to_thread(_copy, self.file.file, var_dir / relative)
        return relative.as_posix()

    async def close(self) -> None:
        await self.file.close()


async def read_upload(request: Request) -> Upload:
    """Parse the multipart body (one ``file`` part, an optional ``client_message_id``), bounded."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge(f"larger than {MAX_FILE_BYTES} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadUpload("send the file as multipart/form-data in the field 'file'")
    bounded = Request(request.scope, _bounded(request.receive, MAX_BODY_BYTES))
    form = await bounded.form(max_files=1, max_fields=1, max_part_size=1024)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        await form.close()
        raise BadUpload("the field 'file' is missing")
    cid = form.get("client_message_id")
    try:
        head = await file.read(16)
        size = await asyncio.to_thread(_size_of, file.file)
        if size > MAX_FILE_BYTES:
            raise TooLarge(f"larger than {MAX_FILE_BYTES} bytes")
        if size == 0:
            raise BadUpload("the file is empty")
        file_type = sniff(head)
        if isinstance(cid, str) and not 0 < len(cid) <= 128:
            raise BadUpload("client_message_id must be 1 to 128 characters")
    except Exception:
        await form.close()
        raise
    return Upload(
        file, file_type, size, display_name(file.filename, file_type), cid if isinstance(cid, str) else None
    )


def _size_of(handle: IO[bytes]) -> int:
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    return size


def _copy(source: IO[bytes], path: Path) -> None:
    # Citizens' files are personal data: readable by the hub's user only, like LINE's.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        shutil.copyfileobj(source, target)
    partial.replace(path)
