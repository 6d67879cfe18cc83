"""Typed ORM tables of the registry (the schema itself is migration 0002_registry)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Long text (tag values up to 100,000 characters of up to 4 bytes each).
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class RegistryBase(DeclarativeBase):
    pass


class RegisteredModelRow(RegistryBase):
    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    creation_timestamp: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp: Mapped[int] = mapped_column(BigInteger)
    #: The number the next version gets; bumped under a row lock.
    next_version: Mapped[int] = mapped_column(BigInteger, default=1)
    #: Grows on every change of the model or anything below it (watchers poll it).
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class RegisteredModelTagRow(RegistryBase):
    __tablename__ = "registered_model_tags"
    __table_args__ = (
        ForeignKeyConstraint(["model_id"], ["registered_models.id"], ondelete="CASCADE"),
    )

    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(LongText)


class ModelVersionRow(RegistryBase):
    __tablename__ = "model_versions"
    __table_args__ = (
        ForeignKeyConstraint(["model_id"], ["registered_models.id"], ondelete="CASCADE"),
    )

    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    creation_timestamp: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp: Mapped[int] = mapped_column(BigInteger)
    current_stage: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    storage_location: Mapped[str] = mapped_column(Text)
    artifact_path: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(32), default="")
    run_link: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    status_message: Mapped[str] = mapped_column(Text)
    #: The MLflow 3 LoggedModel (`m-…`) the version registers (migration 0005); None for none.
    logged_model_id: Mapped[str | None] = mapped_column(String(34), default=None)


class ModelVersionTagRow(RegistryBase):
    __tablename__ = "model_version_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )

    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(LongText)


class RegisteredModelAliasRow(RegistryBase):
    __tablename__ = "registered_model_aliases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )

    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
