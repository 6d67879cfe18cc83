"""Typed ORM tables of LoggedModels, datasets and run inputs/outputs (migration
0005_logged_models; see its docstring for the shape and the reasons)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tracking_service.store.portable.tables import LongText, TrackingBase

#: `run_model_io.direction` values.
MODEL_INPUT = "input"
MODEL_OUTPUT = "output"


class LoggedModelRow(TrackingBase):
    __tablename__ = "logged_models"

    model_id: Mapped[str] = mapped_column(String(34), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.experiment_id"))
    name: Mapped[str] = mapped_column(String(500))
    source_run_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    status_message: Mapped[str] = mapped_column(String(1000))
    model_type: Mapped[str] = mapped_column(String(500))
    artifact_location: Mapped[str] = mapped_column(String(2000))
    lifecycle_stage: Mapped[str] = mapped_column(String(32))
    creation_timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    last_updated_timestamp_ms: Mapped[int] = mapped_column(BigInteger)


class LoggedModelParamRow(TrackingBase):
    __tablename__ = "logged_model_params"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(6000))


class LoggedModelTagRow(TrackingBase):
    __tablename__ = "logged_model_tags"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(8000))


class LoggedModelMetricRow(TrackingBase):
    __tablename__ = "logged_model_metrics"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    dataset_digest: Mapped[str] = mapped_column(String(36), primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    value_kind: Mapped[int] = mapped_column(SmallInteger)


class DatasetRow(TrackingBase):
    __tablename__ = "datasets"

    dataset_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(Integer, ForeignKey("experiments.experiment_id"))
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    source_type: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(LongText)
    dataset_schema: Mapped[str] = mapped_column(LongText)
    profile: Mapped[str] = mapped_column(LongText)


class RunDatasetInputRow(TrackingBase):
    __tablename__ = "run_dataset_inputs"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    dataset_uuid: Mapped[str] = mapped_column(
        ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"), primary_key=True
    )


class RunInputTagRow(TrackingBase):
    __tablename__ = "run_input_tags"

    run_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class RunModelIoRow(TrackingBase):
    __tablename__ = "run_model_io"

    run_uuid: Mapped[str] = mapped_column(
        ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
