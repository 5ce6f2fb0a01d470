"""Running the gateway: uvicorn for ``serve``, and the standalone job worker for ``worker``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TypedDict

from bulkhead.gateway.settings import GatewaySettings


def serve(settings: GatewaySettings) -> None:
    """Serve the API with uvicorn (uvloop and httptools when installed) until interrupted."""
    import uvicorn

    from bulkhead.gateway.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        access_log=settings.server.access_log,
        log_level="info",
        timeout_graceful_shutdown=10,
        **uvicorn_options(),
    )
    uvicorn.Server(config).run()


class UvicornOptions(TypedDict):
    """The uvicorn settings every gateway server shares."""

    loop: str
    http: str


def uvicorn_options() -> UvicornOptions:
    """The event loop and HTTP parser: uvloop and httptools when installed."""
    return {"loop": _choose("uvloop", "auto"), "http": _choose("httptools", "auto")}


def _choose(module: str, fallback: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return fallback
    return module


def work(settings: GatewaySettings) -> None:
    """Run a job worker and sweeper on the state database until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work(settings))


async def _work(settings: GatewaySettings) -> None:
    from bulkhead.gateway.batching import Batcher
    from bulkhead.gateway.embedder import Embedded, SentenceTransformerEmbedder
    from bulkhead.gateway.jobs.sqlite import SqliteJobStore
    from bulkhead.gateway.jobs.worker import JobWorker, sweep_forever

    batchers: dict[str, Batcher] = {}
    for name, config in settings.models.embeddings.items():
        micro = settings.batching.micro_batch_inputs
        embedder = await asyncio.to_thread(SentenceTransformerEmbedder.load, name, config, micro)
        batchers[name] = Batcher(embedder, settings.batching, dict(settings.priorities))
        batchers[name].start()

    async def embed(model: str, texts: list[str], priority: str) -> Embedded:
        return await batchers[model].embed(texts, priority)

    store = SqliteJobStore(settings.database_path)
    worker = JobWorker(store, embed, list(batchers), settings.jobs)
    logging.getLogger("bulkhead.gateway.jobs").info("worker %s ready", worker.name)
    try:
        await asyncio.gather(worker.run_forever(), sweep_forever(store, settings.jobs))
    finally:
        for batcher in batchers.values():
            await batcher.stop()
        store.close()
