"""Typed ORM tables of the tracking service (the schema itself is migration 0001_tracking).

String columns that hold names and keys compare case-sensitively on MySQL too: every table is
created with the binary collation `utf8mb4_bin` (see the migration), as MLflow's users expect
`Loss` and `loss` to be two metrics.

Metric values: MySQL's DOUBLE holds neither NaN nor ±inf, so `value_kind` records which one a
value is (`rules.VALUE_FINITE`, `VALUE_POS_INF`, `VALUE_NEG_INF`, `VALUE_NAN`) and `value` keeps an
ordering stand-in (±max double for ±inf, 0 for NaN) so that SQL comparisons and ORDER BY work.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Long text (experiment tag values up to 20,000 characters of up to 4 bytes each).
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class TrackingBase(DeclarativeBase):
    pass


_EXPERIMENT_ID = Integer().with_variant(BigInteger(), "postgresql")


class ExperimentRow(TrackingBase):
    __tablename__ = "experiments"

    # INTEGER in the schema, bound as a 64-bit integer: ids are validated as 64-bit and one
    # beyond 32 bits is simply not found (PostgreSQL refuses a 32-bit parameter out of range;
    # comparing its int4 column with an int8 value still walks the index).
    experiment_id: Mapped[int] = mapped_column(_EXPERIMENT_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500), unique=True)
    artifact_location: Mapped[str] = mapped_column(String(2000), default="")
    lifecycle_stage: Mapped[str] = mapped_column(String(32))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)


class ExperimentTagRow(TrackingBase):
    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(
        _EXPERIMENT_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(LongText)


class RunRow(TrackingBase):
    __tablename__ = "runs"

    run_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250))
    experiment_id: Mapped[int] = mapped_column(
        _EXPERIMENT_ID, ForeignKey("experiments.experiment_id")
    )
    user_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger)
    lifecycle_stage: Mapped[str] = mapped_column(String(32))
    artifact_uri: Mapped[str] = mapped_column(String(2000))


class ParamRow(TrackingBase):
    __tablename__ = "params"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(6000))


class TagRow(TrackingBase):
    __tablename__ = "tags"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(8000))


class MetricRow(TrackingBase):
    """Append-only history; the whole row is the key, so re-logging the same point is a no-op."""

    __tablename__ = "metrics"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Double, primary_key=True)
    value_kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class LatestMetricRow(TrackingBase):
    """Per (run, key): the point with the greatest (step, timestamp, value)."""

    __tablename__ = "latest_metrics"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    value_kind: Mapped[int] = mapped_column(SmallInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger)


class AppliedBatchRow(TrackingBase):
    """A client batch id already written (migration 0003): a retry with it writes nothing.

    See `tracking_service/store/portable/batch_ids.py` for the dedupe and the cleanup horizon.
    """

    __tablename__ = "applied_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_uuid: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid", ondelete="CASCADE"))
    rows_written: Mapped[int] = mapped_column(Integer)
    created_time: Mapped[int] = mapped_column(BigInteger)
