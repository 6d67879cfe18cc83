"""Typed ORM tables of the auth schema (the schema itself is migration 0004_auth)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AuthBase(DeclarativeBase):
    pass


class TokenRow(AuthBase):
    """One access token: who it is for, its role, and the sha256 of its secret."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: Milliseconds since the Unix epoch.
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class GrantRow(AuthBase):
    """A token's permission on one experiment (id) or registered model (name)."""

    __tablename__ = "auth_grants"

    token_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("auth_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    permission: Mapped[str] = mapped_column(String(16))
