"""Roles, permissions, and token secrets: what a token is, without a database or gRPC.

A secret is `mlgrpc_` followed by 43 URL-safe characters (32 bytes from `secrets`): the prefix
lets secret scanners and people recognise one; only its sha256 is stored.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass, field

TOKEN_PREFIX = "mlgrpc_"
_SECRET_BYTES = 32
#: Length of a well-formed secret: the prefix and base64url of 32 bytes without padding.
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43

EXPERIMENT = "experiment"
REGISTERED_MODEL = "registered_model"
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL)


class Permission(enum.IntEnum):
    """Per-resource rights, ordered as in MLflow's auth app: each includes the ones below."""

    READ = 1  # read
    EDIT = 2  # read + update (log to runs, create versions, set tags and aliases)
    MANAGE = 3  # read + update + delete + restore

    @classmethod
    def parse(cls, text: str) -> Permission:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"permission {text!r} is not one of READ, EDIT, MANAGE") from None


class Role(enum.StrEnum):
    """What a token may do where no grant says otherwise."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def default_permission(self) -> Permission:
        """The permission on a resource without a grant for this token."""
        return _DEFAULT_PERMISSION[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"role {text!r} is not one of read, write, admin") from None


_DEFAULT_PERMISSION = {
    Role.READ: Permission.READ,
    Role.WRITE: Permission.EDIT,
    Role.ADMIN: Permission.MANAGE,
}


@dataclass(frozen=True)
class Resource:
    """An experiment (by id) or a registered model (by name)."""

    type: str
    id: str

    def __str__(self) -> str:
        kind = "experiment" if self.type == EXPERIMENT else "registered model"
        return f"{kind} {self.id!r}"


@dataclass(frozen=True)
class Principal:
    """An authenticated token: its id and name, role and grants (never its secret)."""

    token_id: int
    name: str
    role: Role
    grants: dict[Resource, Permission] = field(default_factory=dict)

    def permission_on(self, resource: Resource) -> Permission:
        """The grant on `resource` if any (it may raise or lower the role's default)."""
        if self.role is Role.ADMIN:
            return Permission.MANAGE
        return self.grants.get(resource, self.role.default_permission)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


_WELL_FORMED = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")


def is_well_formed(secret: str) -> bool:
    """Whether `secret` could be one of ours (checked before any database lookup)."""
    return _WELL_FORMED.fullmatch(secret) is not None


def parse_grant(text: str) -> tuple[Resource, Permission]:
    """`experiment:ID=EDIT` or `model:NAME=READ` → (resource, permission)."""
    target, sep, level = text.rpartition("=")
    kind, colon, ident = target.partition(":")
    kind = {"experiment": EXPERIMENT, "model": REGISTERED_MODEL}.get(kind.strip().lower(), "")
    if not sep or not colon or not kind or not ident:
        raise ValueError(f"grant {text!r} is not experiment:ID=PERMISSION or model:NAME=PERMISSION")
    if kind == EXPERIMENT and not ident.isdigit():
        raise ValueError(f"grant {text!r}: an experiment id is a number")
    return Resource(kind, ident), Permission.parse(level)


def parse_resource(text: str) -> Resource:
    """`experiment:ID` or `model:NAME` → the resource."""
    resource, _ = parse_grant(f"{text}=READ")
    return resource
