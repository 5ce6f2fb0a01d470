"""One module per CLI verb. Each exposes ``command``, registered by :mod:`bulkhead.cli`."""
