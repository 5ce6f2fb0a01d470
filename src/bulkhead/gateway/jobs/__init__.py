"""Durable batch-embedding jobs: the store interface, its SQLite implementation, the worker."""
