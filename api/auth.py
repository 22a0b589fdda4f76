"""API keys: hashed at rest, compared in constant time, never logged.

Settings hold ``name:scope:sha256-hex`` entries (`core.settings.Settings.api_keys`). A request
presents ``Authorization: Bearer <key>``; its SHA-256 is compared with every entry using
`hmac.compare_digest`, so timing says nothing about which entry (or how much of one) matched.
Scopes: ``read`` and ``write``; write implies read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from core.errors import ConfigError

__all__ = [
    "ANONYMOUS",
    "KEY_PREFIX",
    "SCOPES",
    "Keyring",
    "Principal",
    "generate_key",
    "hash_key",
    "key_entry",
]

SCOPES = ("read", "write")
# Recognisable prefix: secret scanners and humans can tell a spotsel key at a glance.
KEY_PREFIX = "spk_"
# 32 random bytes: 256 bits of entropy, beyond any brute force even against a leaked hash.
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name and scope (``anonymous`` when auth is off)."""

    name: str
    scope: str

    def allows(self, scope: str) -> bool:
        return self.scope == "write" or scope == self.scope


ANONYMOUS = Principal(name="anonymous", scope="write")


def hash_key(key: str) -> str:
    """SHA-256 hex of a key: what settings store instead of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def key_entry(*, name: str, scope: str, key: str) -> str:
    """The settings entry (``name:scope:sha256``) for `key`."""
    if not name or ":" in name or "," in name:
        raise ConfigError(f"key name {name!r} must be non-empty without ':' or ','")
    if scope not in SCOPES:
        raise ConfigError(f"scope {scope!r} is not one of {list(SCOPES)}")
    return f"{name}:{scope}:{hash_key(key)}"


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    scope: str
    digest: bytes


class Keyring:
    """The configured keys, by digest. Built from validated settings entries."""

    def __init__(self, entries: list[str]) -> None:
        parsed = []
        for entry in entries:
            name, scope, hexdigest = entry.split(":")
            parsed.append(_Entry(name, scope, bytes.fromhex(hexdigest)))
        self._entries = tuple(parsed)

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, key: str) -> Principal | None:
        """The principal `key` belongs to, or None. Checks every entry (no early exit)."""
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found: _Entry | None = None
        for entry in self._entries:
            if hmac.compare_digest(digest, entry.digest) and found is None:
                found = entry
        return None if found is None else Principal(found.name, found.scope)
