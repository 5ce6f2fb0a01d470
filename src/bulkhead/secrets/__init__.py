"""Secret values, read from their declared sources at apply time and never shown.

Public surface: :func:`resolve_secret` (one secret → its values), :func:`check_secrets` (does
every declared secret and key resolve?) and :class:`SecretValue`, whose ``repr`` and ``str``
hide the value so that it cannot leak into logs, diffs or tracebacks by accident.
"""

from bulkhead.secrets.resolve import SecretStatus, SecretValue, check_secrets, resolve_secret

__all__ = ["SecretStatus", "SecretValue", "check_secrets", "resolve_secret"]
