"""A padding-free forward pass for BERT encoders with mean pooling, checked against the original.

A batch of texts is padded to its longest member before a transformer sees it, and every dense
layer then computes the padding too. Under concurrent load the batcher cannot sort the whole
traffic by length, so a batch of random short sentences carries 30-50 % padding. This module
runs the same weights on the real tokens only: the token-wise parts of each layer (the Q/K/V
and output projections, the feed-forward block, the layer norms) take the packed ``(tokens,
hidden)`` matrix, and only the attention scores are computed on the padded layout, with a key
mask. Mean pooling and normalisation follow the sentence-transformers modules.

:func:`unpadded_encoder` returns an encoder only for the architecture it reproduces exactly
(a ``BertModel`` with absolute positions, mean pooling, optional normalisation) and only after
a self-check on probe sentences agrees with the model's own pipeline; otherwise it says why not
and the caller keeps the padded path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Probe sentences of different lengths, so the self-check exercises padding.
_PROBES = (
    "ok",
    "The quick brown fox jumps over the lazy dog.",
    "Embeddings of a short query and of a much longer passage share one batch here, so the "
    "shorter one is padded to the length of this one.",
)
# Largest difference tolerated, relative to the largest component, per weight precision.
_TOLERANCE = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}

Encode = Callable[[dict[str, Any]], Any]


def unpadded_encoder(model: Any) -> tuple[Encode | None, str]:
    """A padding-free encoder equivalent to ``model``, or None and the reason it is not used."""
    reason = _unsupported(model)
    if reason:
        return None, reason
    encoder = UnpaddedBert(model[0].auto_model, normalize=len(model) == 3)
    try:
        error = disagreement(model, encoder)
    except Exception as exc:  # a layout this code does not know: the padded forward still works
        return None, f"the self-check failed: {type(exc).__name__}: {exc}"
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    if not error <= _TOLERANCE.get(dtype, 1e-2):  # a NaN disagrees too
        return None, f"the self-check disagreed with the model (relative error {error:.1e})"
    return encoder, f"unpadded forward (self-check: relative error {error:.1e})"


def _unsupported(model: Any) -> str | None:
    """Why this model cannot use the unpadded path; None when it can."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {names} (needs Transformer, Pooling[, Normalize])"
    backbone = getattr(model[0], "auto_model", None)
    config = getattr(backbone, "config", None)
    if type(backbone).__name__ != "BertModel" or getattr(config, "model_type", None) != "bert":
        return f"backbone {type(backbone).__name__} (needs BertModel)"
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return "relative position embeddings"
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "a decoder configuration"
    pooling = model[1].get_config_dict()
    if pooling.get("pooling_mode", "mean") != "mean" or not pooling.get("include_prompt", True):
        return f"pooling {pooling.get('pooling_mode')!r} (needs mean over every token)"
    return None


def disagreement(model: Any, encoder: Encode) -> float:
    """Largest difference between the model's own embeddings of the probe sentences and the
    encoder's, relative to the largest component."""
    import torch
    from sentence_transformers.util import batch_to_device

    with torch.inference_mode():
        features = batch_to_device(model.preprocess(list(_PROBES)), model.device)
        expected = model(dict(features))["sentence_embedding"].float()
        got = encoder(features).float()
    return float((expected - got).abs().max() / expected.abs().max())


class UnpaddedBert:
    """BERT layers on packed tokens; attention on the padded layout with a key mask."""

    def __init__(self, bert: Any, *, normalize: bool) -> None:
        self._bert = bert
        self._heads = int(bert.config.num_attention_heads)
        self._normalize = normalize

    def __call__(self, features: dict[str, Any]) -> Any:
        """Sentence embeddings ``(batch, hidden)`` for tokenised ``features``."""
        import torch

        ids, mask = features["input_ids"], features["attention_mask"]
        types = features.get("token_type_ids")
        embedded = self._bert.embeddings(
            input_ids=ids, token_type_ids=types if types is not None else torch.zeros_like(ids)
        )
        layout = _Layout(mask, self._heads)
        hidden = layout.pack(embedded)
        for layer in self._bert.encoder.layer:
            hidden = self._layer(layer, hidden, layout)
        return layout.mean(hidden, normalize=self._normalize)

    @staticmethod
    def _layer(layer: Any, hidden: Any, layout: _Layout) -> Any:
        import torch.nn.functional as F

        attention = layer.attention.self
        context = F.scaled_dot_product_attention(
            layout.heads(attention.query(hidden)),
            layout.heads(attention.key(hidden)),
            layout.heads(attention.value(hidden)),
            attn_mask=layout.key_mask,
        )
        projected = layer.attention.output
        attended = projected.LayerNorm(projected.dense(layout.unheads(context)) + hidden)
        inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attended))
        return layer.output.LayerNorm(layer.output.dense(inner) + attended)


class _Layout:
    """Where a batch's real tokens sit in its padded ``(batch, length)`` grid."""

    def __init__(self, mask: Any, heads: int) -> None:
        self.batch, self.length = (int(n) for n in mask.shape)
        self.heads_count = heads
        self.lengths = mask.sum(dim=1)
        flat = mask.reshape(-1).bool()
        self.padded = not bool(flat.all())
        self.index = flat.nonzero().squeeze(1) if self.padded else None
        self.key_mask = mask.bool()[:, None, None, :] if self.padded else None

    def pack(self, grid: Any) -> Any:
        """``(batch, length, hidden)`` -> ``(tokens, hidden)``, padding dropped."""
        flat = grid.reshape(self.batch * self.length, grid.shape[-1])
        return flat.index_select(0, self.index) if self.padded else flat

    def heads(self, packed: Any) -> Any:
        """``(tokens, hidden)`` -> ``(batch, heads, length, head_size)``, zeros at padding."""
        width = packed.shape[-1]
        grid = packed
        if self.padded:
            grid = packed.new_zeros(self.batch * self.length, width)
            grid.index_copy_(0, self.index, packed)
        shape = (self.batch, self.length, self.heads_count, width // self.heads_count)
        return grid.view(shape).transpose(1, 2)

    def unheads(self, grid: Any) -> Any:
        """``(batch, heads, length, head_size)`` -> ``(tokens, hidden)``, padding dropped."""
        flat = grid.transpose(1, 2).reshape(self.batch * self.length, -1)
        return flat.index_select(0, self.index) if self.padded else flat

    def mean(self, packed: Any, *, normalize: bool) -> Any:
        """Mean over each input's tokens, optionally L2-normalised: ``(batch, hidden)``."""
        import torch

        rows = torch.repeat_interleave(
            torch.arange(self.batch, device=packed.device), self.lengths.to(packed.device)
        )
        sums = packed.new_zeros(self.batch, packed.shape[-1]).index_add_(0, rows, packed)
        means = sums / self.lengths.to(packed.device, packed.dtype).clamp(min=1)[:, None]
        return torch.nn.functional.normalize(means, dim=1) if normalize else means
