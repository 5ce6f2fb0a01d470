"""The padding-free forward pass: same vectors as the model's own, and refused where it cannot be.

Everything runs the shipped all-MiniLM-L6-v2 on the CPU; the reference is the model's own
sentence-transformers pipeline (``encode`` / the padded forward) on the same texts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkhead.errors import ConfigError
from bulkhead.gateway.embedder import SentenceTransformerEmbedder, _choose_forward
from bulkhead.gateway.settings import EmbeddingModel
from bulkhead.gateway.unpadded import UnpaddedBert, disagreement, unpadded_encoder
from tests.gateway.conftest import GROUP, MODEL

pytestmark = [pytest.mark.model, GROUP]

WORDS = ("river", "token", "gateway", "cluster", "naïve", "東京", "emoji🙂", "a", "of", "backup")


def _padded(embedder: Any) -> SentenceTransformerEmbedder:
    """The same loaded model behind the model's own (padded) forward."""
    return SentenceTransformerEmbedder(MODEL, embedder.model, "cpu", 32, encoder=None)


def test_the_shipped_model_runs_unpadded(embedder: Any) -> None:
    assert embedder.forward == "unpadded"
    assert _padded(embedder).forward == "padded"


def test_unpadded_vectors_and_token_counts_match_the_models_own(embedder: Any) -> None:
    texts = [
        "",
        "ok",
        "The quick brown fox jumps over the lazy dog.",
        "naïve café 東京 🙂",
        "word " * 400,  # truncated at the model's 256 tokens
        *(" ".join(WORDS[: n % len(WORDS) + 1]) for n in range(40)),
    ]
    got = embedder.embed(texts)
    reference = embedder.model.encode(texts, batch_size=7, convert_to_numpy=True)
    assert np.abs(got.vectors - reference).max() < 1e-5
    lengths = [
        len(ids)
        for ids in embedder.model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    ]
    assert got.token_counts.tolist() == lengths
    assert got.token_counts[4] == 256


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(st.sampled_from(WORDS), min_size=0, max_size=60).map(" ".join),
        min_size=1,
        max_size=40,
    )
)
def test_unpadded_equals_padded_for_any_batch(embedder: Any, texts: list[str]) -> None:
    unpadded, padded = embedder.embed(texts), _padded(embedder).embed(texts)
    assert np.abs(unpadded.vectors - padded.vectors).max() < 1e-5
    assert unpadded.token_counts.tolist() == padded.token_counts.tolist()


def test_the_self_check_catches_an_encoder_that_differs(embedder: Any) -> None:
    bert = embedder.model[0].auto_model
    assert disagreement(embedder.model, UnpaddedBert(bert, normalize=True)) < 1e-5
    # the model normalises its output; an encoder that does not is told apart
    assert disagreement(embedder.model, UnpaddedBert(bert, normalize=False)) > 1e-2


def test_a_model_it_cannot_reproduce_keeps_the_padded_forward(embedder: Any) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    cls_pooled = SentenceTransformer(
        modules=[embedder.model[0], Pooling(embedder.dimensions, pooling_mode="cls")],
        device="cpu",
    )
    encoder, reason = unpadded_encoder(cls_pooled)
    assert encoder is None
    assert "pooling 'cls'" in reason
    assert _choose_forward("cls", cls_pooled, EmbeddingModel(forward="auto")) is None
    with pytest.raises(ConfigError, match="model 'cls': forward unpadded is not possible"):
        _choose_forward("cls", cls_pooled, EmbeddingModel(forward="unpadded"))


def test_forward_padded_keeps_the_models_own_forward(embedder: Any) -> None:
    assert _choose_forward(MODEL, embedder.model, EmbeddingModel(forward="padded")) is None
    assert _choose_forward(MODEL, embedder.model, EmbeddingModel(forward="unpadded")) is not None


def test_a_self_check_that_crashes_falls_back_to_padded(
    embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def renamed(*_: Any) -> Any:  # as if a transformers release renamed a layer's parts
        raise AttributeError("'BertLayer' object has no attribute 'attention'")

    monkeypatch.setattr(UnpaddedBert, "_layer", staticmethod(renamed))
    encoder, reason = unpadded_encoder(embedder.model)
    assert encoder is None
    assert reason.startswith("the self-check failed: AttributeError")
    assert _choose_forward(MODEL, embedder.model, EmbeddingModel(forward="auto")) is None
