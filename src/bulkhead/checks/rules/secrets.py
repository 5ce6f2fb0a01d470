"""SEC (secrets): credentials never sit in the spec as literal env values, a sensitive
namespace's secrets stay inside it, and no secret key is declared (and so applied) for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity

CREDENTIAL = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)",
    re.IGNORECASE,
)
# Conventional names that hold a path or a switch, not the credential itself.
NOT_A_VALUE = re.compile(r"(_FILE|_PATH|_DIR|_ENABLED|_TTL|_LENGTH)$", re.IGNORECASE)


def looks_like_credential(name: str) -> bool:
    """True for env names such as ``DB_PASSWORD`` or ``OPENAI_API_KEY`` (not ``*_FILE``)."""
    return bool(CREDENTIAL.search(name)) and not NOT_A_VALUE.search(name)


def literal_credentials(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every ``env`` entry whose name looks like a credential and that holds a literal value."""
    for name, workload in facts.workloads(spec):
        for var, value in workload.env.items():
            if looks_like_credential(var) and value:
                where = facts.at(spec, name, "env", var)
                message = f"{name} sets {var} to a literal value in the spec (a credential in git)"
                fix = f"Declare a secret and use secretEnv: {{{var}: <secret>.<key>}}."
                yield Hit(where, message, name, fix)


def _users(spec: Homelab) -> dict[str, list[tuple[str, str]]]:
    """Secret name → [(workload, env var)] of every secretEnv that reads it, in spec order."""
    users: dict[str, list[tuple[str, str]]] = {}
    for name, workload in facts.workloads(spec):
        for var, ref in workload.secret_env.items():
            users.setdefault(ref.partition(".")[0], []).append((name, var))
    return users


def _sensitive(spec: Homelab, workload: str) -> str | None:
    namespace = spec.workloads[workload].namespace
    declared = spec.namespaces.get(namespace) if namespace else None
    return namespace if declared and declared.sensitive else None


def shared_outside_sensitive(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A secret read inside a sensitive namespace and also by a workload outside it."""
    for secret, users in _users(spec).items():
        inside = {_sensitive(spec, w) for w, _ in users} - {None}
        for namespace in sorted(n for n in inside if n):
            first = dict(reversed(users))  # one finding per workload: its first use
            for workload, var in first.items():
                if spec.workloads[workload].namespace != namespace:
                    where = facts.at(spec, workload, "secretEnv", var)
                    message = (
                        f"{workload} reads secret {secret!r}, which the sensitive namespace "
                        f"{namespace!r} also uses: a leak outside it exposes what it protects"
                    )
                    yield Hit(where, message, workload)


def unused_keys(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Declared secret keys that no workload reads (a backup target's secret is read whole)."""
    used = {ref for w in spec.workloads.values() for ref in w.secret_env.values()}
    targets = {v.backup.to for w in spec.workloads.values() for v in w.volumes.values() if v.backup}
    whole = {t.secret for n, t in spec.backups.targets.items() if t.secret and n in targets}
    for secret_name, secret in spec.secrets.items():
        for i, key in enumerate(secret.keys):
            if f"{secret_name}.{key}" not in used and secret_name not in whole:
                where = facts.where(spec, "secrets", secret_name, "keys", i)
                message = f"secret {secret_name!r} declares key {key!r}, which no workload reads"
                yield Hit(where, message)


RULES = (
    Rule(
        id="BH-SEC-006",
        title="Credentials are not literal env values",
        severity=Severity.error,
        summary=(
            "Reports an `env` entry whose name looks like a credential (PASSWORD, TOKEN, "
            "SECRET, API_KEY, PRIVATE_KEY, …) and that holds a literal value."
        ),
        rationale=(
            "The spec lives in git. A password in it is in every clone, every fork and the "
            "history forever, and it ends up in rendered manifests and CI logs too."
        ),
        example="workloads:\n  api:\n    env: {DB_PASSWORD: hunter2}",
        fix=(
            "Declare the value in `secrets` (file://, env:// or sops:// source) and read it "
            "with secretEnv: {DB_PASSWORD: db.password}."
        ),
        check=literal_credentials,
    ),
    Rule(
        id="BH-SEC-007",
        title="Secrets of a sensitive namespace stay inside it",
        severity=Severity.error,
        summary=(
            "Reports a workload outside a sensitive namespace that reads a secret which a "
            "workload inside that namespace also reads."
        ),
        rationale=(
            "A sensitive namespace is walled off by default-deny policies; a credential it "
            "shares with the outside is a door through that wall for anyone who compromises "
            "the outside workload."
        ),
        example=(
            "secrets: {pg: {keys: [password], source: 'file://~/.lab.env'}}\n"
            "workloads:\n  api: {namespace: apps, secretEnv: {PGPASSWORD: pg.password}}\n"
            "  postgres: {namespace: data, secretEnv: {POSTGRES_PASSWORD: pg.password}}"
        ),
        fix=(
            "Give the outside workload its own credential (a separate database role and "
            "secret), or waive the rule with the reason the sharing is needed."
        ),
        check=shared_outside_sensitive,
    ),
    Rule(
        id="BH-SEC-008",
        title="Every declared secret key is used",
        severity=Severity.warning,
        summary=(
            "Reports a key of a declared secret that no workload reads through secretEnv (a "
            "backup target's secret counts as read: restic gets all its keys)."
        ),
        rationale=(
            "apply writes every declared key to the cluster and the GPU machine; a key nobody "
            "reads is exposure with no purpose, and usually a typo or a leftover."
        ),
        example="secrets: {pg: {keys: [password, old-password], source: 'env://PG_'}}",
        fix="Remove the key from the secret, or reference it from the workload that needs it.",
        check=unused_keys,
    ),
)
