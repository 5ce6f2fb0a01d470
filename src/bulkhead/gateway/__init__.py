"""The gateway: the GPU machine's controlled, OpenAI-compatible API.

Local embeddings with dynamic batching, chat proxied to Ollama / vLLM, per-service tokens with
rate limits, admission by priority class and GPU memory, durable batch jobs, health and
Prometheus metrics. Entry points: ``bulkhead gateway serve|worker|token`` (:mod:`.cli`) and
:func:`bulkhead.gateway.app.create_app`. Importing this package imports nothing heavy.

Modules: settings (gateway.yaml), tokens, ratelimit, embedder, batching, upstream (chat proxy),
jobs/ (store interface, SQLite, worker), gpu (NVML), metrics, serialize, schemas, apierrors,
core (the runtime routes share), routes/, app (factory), server (uvicorn, worker), cli.
It shares only :mod:`bulkhead.errors` with the planner.
"""
