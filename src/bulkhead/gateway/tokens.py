"""Per-service API tokens: creation, lookup by hash, listing and revocation (SQLite).

A token is shown once, at creation; only its SHA-256 hash is stored. Lookups are cached, but
the cache is dropped whenever another connection commits (SQLite's ``data_version``), so a
revocation made by another process (the CLI) takes effect on the next request. A token names
one service (the label every metric uses), the models it may call (none listed: all), its
per-minute request and token limits, and its admission class.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN_PREFIX = "bhg_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    models TEXT,
    rpm INTEGER,
    tpm INTEGER,
    priority TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
"""


@dataclass(frozen=True)
class Token:
    """A stored token's grants (never its secret)."""

    id: str
    service: str
    models: tuple[str, ...] | None
    rpm: int | None
    tpm: int | None
    priority: str
    created_at: float
    revoked_at: float | None = None

    def allows(self, model: str) -> bool:
        """Whether this token may call ``model``."""
        return self.models is None or model in self.models


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def connect(path: Path) -> sqlite3.Connection:
    """Open the state database in WAL mode, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class TokenStore:
    """Tokens in the state database. Thread-safe; one connection guarded by a lock.

    Lookups are cached by hash. SQLite's ``PRAGMA data_version`` changes whenever another
    connection (the ``token revoke`` CLI, another process) commits, and this store's own
    writes clear the cache, so a revocation still takes effect on the next request.
    """

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._lock = threading.Lock()
        self._cache: dict[str, Token | None] = {}
        self._version = -1
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def create(
        self,
        service: str,
        *,
        priority: str,
        models: tuple[str, ...] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> tuple[str, Token]:
        """Create a token; returns the secret (shown once) and what was stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = Token(
            id="tok_" + secrets.token_hex(6),
            service=service,
            models=models,
            rpm=rpm,
            tpm=tpm,
            priority=priority,
            created_at=time.time(),
        )
        models_json = json.dumps(list(models)) if models is not None else None
        with self._lock:
            self._cache.clear()
            self._conn.execute(
                "INSERT INTO tokens (id, hash, service, models, rpm, tpm, priority, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token.id,
                    hash_token(secret),
                    service,
                    models_json,
                    rpm,
                    tpm,
                    priority,
                    token.created_at,
                ),
            )
        return secret, token

    def lookup(self, secret: str) -> Token | None:
        """The live (not revoked) token whose secret this is."""
        digest = hash_token(secret)
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._cache.clear()
                self._version = version
            if digest in self._cache:
                return self._cache[digest]
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL", (digest,)
            ).fetchone()
            found = _token(row) if row else None
            if len(self._cache) >= _CACHE_SIZE:  # unknown secrets must not grow it forever
                self._cache.clear()
            self._cache[digest] = found
        return found

    def list(self) -> list[Token]:
        """Every token, revoked ones included, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM tokens ORDER BY created_at, id"
            ).fetchall()
        return [_token(row) for row in rows]

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False if no live token has that id."""
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), token_id),
            )
            self._cache.clear()
        return cursor.rowcount == 1


_CACHE_SIZE = 4096
_COLUMNS = "id, service, models, rpm, tpm, priority, created_at, revoked_at"


def _token(row: tuple[object, ...]) -> Token:
    id_, service, models, rpm, tpm, priority, created_at, revoked_at = row
    return Token(
        id=str(id_),
        service=str(service),
        models=tuple(json.loads(str(models))) if models is not None else None,
        rpm=int(str(rpm)) if rpm is not None else None,
        tpm=int(str(tpm)) if tpm is not None else None,
        priority=str(priority),
        created_at=float(str(created_at)),
        revoked_at=float(str(revoked_at)) if revoked_at is not None else None,
    )
