"""HTTP routes, one module per resource: embeddings, chat, jobs, operations (health, metrics)."""
