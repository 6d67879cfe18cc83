"""The gRPC face of the tracking service: proto → domain, one store call, domain → proto.

Domain rules (names, limits, existence, lifecycle) live in the store; here only what the store
cannot see is checked: enum values, page sizes, defaults that MLflow fills in on the wire.

Artifacts: writes need an active run (FAILED_PRECONDITION on a deleted one), reads do not.
ListArtifacts of a directory that does not exist (or of a file) answers an empty list, as
MLflow does; DownloadArtifact of a missing path is NOT_FOUND.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import grpc

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.artifact_locations import ArtifactLocations
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, ServiceError
from tracking_service import convert, domain
from tracking_service import logged_model_convert as lc
from tracking_service.artifacts import ArtifactRepository, repository_for, validate_relative_path
from tracking_service.artifacts.transfer import (
    UploadAbandoned,
    check_expectations,
    receive_file,
    send_tree,
)
from tracking_service.logged_model_servicer import LoggedModelRpcs
from tracking_service.store.interface import TrackingStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrackingService"].full_name

#: Page sizes: (default when 0, maximum), as documented in the proto.
SEARCH_PAGE = (1000, 50_000)
HISTORY_PAGE = (25_000, 25_000)
#: Metrics per LogStream message (LogBatch keeps MLflow's 1,000).
STREAM_MAX_METRICS = 10_000


def page_size(requested: int, limits: tuple[int, int], field: str = "max_results") -> int:
    default, maximum = limits
    if requested < 0:
        raise InvalidArgument(
            f"{field} {requested} is negative; use 0 for the default", field=field
        )
    if requested > maximum:
        raise InvalidArgument(f"{field} {requested} is above the maximum {maximum}", field=field)
    return requested or default


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TrackingServicer(LoggedModelRpcs, pb_grpc.TrackingServiceServicer):
    def __init__(self, store: TrackingStore, locations: ArtifactLocations) -> None:
        self._store = store
        self._locations = locations

    # Experiments

    def CreateExperiment(self, request: pb.CreateExperimentRequest, context: grpc.ServicerContext):
        name = convert.checked_name(request.name, "name")
        location = convert.checked_name(request.artifact_location, "artifact_location")
        experiment_id = self._store.create_experiment(
            name,
            self._locations.check(location, field="artifact_location") if location else None,
            {tag.key: tag.value for tag in request.tags},
        )
        return pb.CreateExperimentResponse(experiment_id=experiment_id)

    def GetExperiment(self, request: pb.GetExperimentRequest, context: grpc.ServicerContext):
        experiment = self._store.get_experiment(request.experiment_id)
        return pb.GetExperimentResponse(experiment=convert.experiment_to_proto(experiment))

    def GetExperimentByName(
        self, request: pb.GetExperimentByNameRequest, context: grpc.ServicerContext
    ):
        experiment = self._store.get_experiment_by_name(request.experiment_name)
        return pb.GetExperimentByNameResponse(experiment=convert.experiment_to_proto(experiment))

    def SearchExperiments(
        self, request: pb.SearchExperimentsRequest, context: grpc.ServicerContext
    ):
        page = self._store.search_experiments(
            filter_string=request.filter,
            order_by=list(request.order_by),
            view_type=convert.view_type_from_proto(request.view_type),
            max_results=page_size(request.max_results, SEARCH_PAGE),
            page_token=request.page_token,
        )
        response = pb.SearchExperimentsResponse(next_page_token=page.next_page_token)
        for experiment in page.items:
            convert.fill_experiment(response.experiments.add(), experiment)
        return response

    def UpdateExperiment(self, request: pb.UpdateExperimentRequest, context: grpc.ServicerContext):
        self._store.rename_experiment(
            request.experiment_id, convert.checked_name(request.new_name, "new_name")
        )
        return pb.UpdateExperimentResponse()

    def DeleteExperiment(self, request: pb.DeleteExperimentRequest, context: grpc.ServicerContext):
        self._store.delete_experiment(request.experiment_id)
        return pb.DeleteExperimentResponse()

    def RestoreExperiment(
        self, request: pb.RestoreExperimentRequest, context: grpc.ServicerContext
    ):
        self._store.restore_experiment(request.experiment_id)
        return pb.RestoreExperimentResponse()

    def SetExperimentTag(self, request: pb.SetExperimentTagRequest, context: grpc.ServicerContext):
        self._store.set_experiment_tag(request.experiment_id, request.key, request.value)
        return pb.SetExperimentTagResponse()

    def DeleteExperimentTag(
        self, request: pb.DeleteExperimentTagRequest, context: grpc.ServicerContext
    ):
        self._store.delete_experiment_tag(request.experiment_id, request.key)
        return pb.DeleteExperimentTagResponse()

    # Runs

    def CreateRun(self, request: pb.CreateRunRequest, context: grpc.ServicerContext):
        run = self._store.create_run(
            request.experiment_id or domain.DEFAULT_EXPERIMENT_ID,
            run_name=convert.checked_name(request.run_name, "run_name"),
            user_id=request.user_id,
            start_time=request.start_time if request.HasField("start_time") else None,
            tags={tag.key: tag.value for tag in request.tags},
            parent_run_id=request.parent_run_id,
            status=convert.status_from_proto(request.status) or "RUNNING",
            params=request.params,  # type: ignore[arg-type]  # .key/.value, as the store reads
        )
        return pb.CreateRunResponse(run=convert.run_to_proto(run))

    def GetRun(self, request: pb.GetRunRequest, context: grpc.ServicerContext):
        response = pb.GetRunResponse(run=convert.run_to_proto(self._store.get_run(request.run_id)))
        run = response.run
        lc.fill_run_io(run.inputs, run.outputs, self._store.get_run_io(request.run_id))
        return response

    def UpdateRun(self, request: pb.UpdateRunRequest, context: grpc.ServicerContext):
        info = self._store.update_run(
            request.run_id,
            status=convert.status_from_proto(request.status),
            end_time=request.end_time if request.HasField("end_time") else None,
            run_name=convert.checked_name(request.run_name, "run_name") or None,
        )
        return pb.UpdateRunResponse(run_info=convert.run_info_to_proto(info))

    def DeleteRun(self, request: pb.DeleteRunRequest, context: grpc.ServicerContext):
        self._store.delete_run(request.run_id)
        return pb.DeleteRunResponse()

    def RestoreRun(self, request: pb.RestoreRunRequest, context: grpc.ServicerContext):
        self._store.restore_run(request.run_id)
        return pb.RestoreRunResponse()

    # Logging

    def LogMetric(self, request: pb.LogMetricRequest, context: grpc.ServicerContext):
        metric = pb.Metric(
            key=request.key,
            value=request.value,
            timestamp=request.timestamp if request.HasField("timestamp") else now_ms(),
            step=request.step if request.HasField("step") else 0,
            # MLflow 3: linked to this LoggedModel in the same transaction as the run's value
            model_id=request.model_id,
            dataset_name=request.dataset_name,
            dataset_digest=request.dataset_digest,
        )
        self._store.log_batch(request.run_id, metrics=[metric])  # type: ignore[list-item]
        return pb.LogMetricResponse()

    def LogParam(self, request: pb.LogParamRequest, context: grpc.ServicerContext):
        self._store.log_batch(request.run_id, params=[domain.Param(request.key, request.value)])
        return pb.LogParamResponse()

    def SetTag(self, request: pb.SetTagRequest, context: grpc.ServicerContext):
        self._store.log_batch(request.run_id, tags=[domain.RunTag(request.key, request.value)])
        return pb.SetTagResponse()

    def DeleteTag(self, request: pb.DeleteTagRequest, context: grpc.ServicerContext):
        self._store.delete_tag(request.run_id, request.key)
        return pb.DeleteTagResponse()

    def LogModel(self, request: pb.LogModelRequest, context: grpc.ServicerContext):
        self._store.log_model(request.run_id, request.model_json)
        return pb.LogModelResponse()

    def LogBatch(self, request: pb.LogBatchRequest, context: grpc.ServicerContext):
        # Protobuf Metric/Param/RunTag messages have the attributes the store reads
        # (.key/.value/.timestamp/.step, and .model_id of a metric linked to a LoggedModel):
        # passed as they are, which spares a copy per item.
        outcome = self._store.log_batch(
            request.run_id,
            metrics=request.metrics,  # type: ignore[arg-type]
            params=request.params,  # type: ignore[arg-type]
            tags=request.tags,  # type: ignore[arg-type]
            batch_id=request.batch_id,
        )
        return pb.LogBatchResponse(replayed=outcome.replayed)

    def LogStream(
        self, request_iterator: Iterable[pb.LogStreamRequest], context: grpc.ServicerContext
    ):
        summary = pb.LogStreamResponse()
        for request in _until_cancelled(request_iterator, context):
            try:
                outcome = self._store.log_batch(
                    request.run_id,
                    metrics=request.metrics,  # type: ignore[arg-type]
                    params=request.params,  # type: ignore[arg-type]
                    tags=request.tags,  # type: ignore[arg-type]
                    max_metrics=STREAM_MAX_METRICS,
                    batch_id=request.batch_id,
                )
            except ServiceError as error:
                raise type(error)(
                    f"batch {summary.batches_written + 1} of the stream was not written "
                    f"({summary.batches_written} batches before it were): {error.message}",
                    metadata={**error.metadata, "batches_written": str(summary.batches_written)},
                    reason=error.reason,
                ) from error
            summary.batches_written += 1
            summary.batches_replayed += outcome.replayed
            summary.metrics_written += len(request.metrics)
            summary.params_written += len(request.params)
            summary.tags_written += len(request.tags)
        return summary

    def GetMetricHistory(self, request: pb.GetMetricHistoryRequest, context: grpc.ServicerContext):
        series_view = convert.history_view_is_series(request.view)
        metric = (request.run_id, request.metric_key)
        max_results = page_size(request.max_results, HISTORY_PAGE)
        if series_view:
            series, token = self._store.get_metric_history_series(
                *metric, max_results=max_results, page_token=request.page_token
            )
            response = pb.GetMetricHistoryResponse(next_page_token=token)
            convert.fill_metric_series(response.series, series)
            return response
        points = self._store.get_metric_history_points(
            *metric, max_results=max_results, page_token=request.page_token
        )
        response = pb.GetMetricHistoryResponse(next_page_token=points.next_page_token)
        convert.add_metric_points(response.metrics, request.metric_key, points.items)
        return response

    def SearchRuns(self, request: pb.SearchRunsRequest, context: grpc.ServicerContext):
        page = self._store.search_runs(
            list(request.experiment_ids) or self._active_experiment_ids(),
            filter_string=request.filter,
            view_type=convert.view_type_from_proto(request.run_view_type, field="run_view_type"),
            max_results=page_size(request.max_results, SEARCH_PAGE),
            order_by=list(request.order_by),
            page_token=request.page_token,
        )
        response = pb.SearchRunsResponse(next_page_token=page.next_page_token)
        for run in page.items:
            convert.fill_run(response.runs.add(), run)
        if page.items:  # datasets and models used and produced, as MLflow returns them
            io = self._store.get_runs_io([run.info.run_id for run in page.items])
            for message in response.runs:
                if message.info.run_id in io:
                    lc.fill_run_io(message.inputs, message.outputs, io[message.info.run_id])
        return response

    def _active_experiment_ids(self) -> list[str]:
        """Every active experiment: what SearchRuns without experiment ids searches, as MLflow."""
        ids: list[str] = []
        token = ""
        while True:
            page = self._store.search_experiments(
                max_results=SEARCH_PAGE[1], page_token=token, order_by=["experiment_id ASC"]
            )
            ids += [experiment.experiment_id for experiment in page.items]
            token = page.next_page_token
            if not token:
                return ids

    # Artifacts

    def _repository(self, run_id: str, *, writing: bool, model_id: str = "") -> ArtifactRepository:
        if model_id:  # a LoggedModel's artifacts rather than a run's
            location = self._store.logged_model_artifact_location(model_id, writing=writing)
            return repository_for(location)
        info = self._store.get_run_info(run_id)
        if writing and info.lifecycle_stage == domain.DELETED:
            raise FailedPrecondition(
                f"run {run_id} is deleted; restore it before writing artifacts", field="run_id"
            )
        return repository_for(info.artifact_uri)

    def UploadArtifact(
        self, request_iterator: Iterable[pb.UploadArtifactRequest], context: grpc.ServicerContext
    ):
        messages = iter(request_iterator)
        first = next(messages, None)
        if first is None or first.WhichOneof("content") != "header":
            raise InvalidArgument(
                "the first message of UploadArtifact must carry the header", field="header"
            )
        header = first.header
        validate_relative_path(header.path, field="header.path")
        check_expectations(sha256=header.sha256, file_size=header.file_size)
        writer = self._repository(
            header.run_id, writing=True, model_id=header.model_id
        ).open_writer(header.path, field="header.path")
        try:
            stored = receive_file(
                writer,
                _chunks_of(messages),
                sha256=header.sha256,
                file_size=header.file_size,
                still_wanted=context.is_active,
            )
        except (grpc.RpcError, UploadAbandoned):
            if context.is_active():
                raise
            # The client went away mid-upload: the writer removed its temp file; nobody is
            # listening for an answer, and this is not a server error worth a traceback.
            logger.info("UploadArtifact of %r cancelled by the client", header.path)
            return pb.UploadArtifactResponse()
        return pb.UploadArtifactResponse(
            file=convert.file_entry_to_proto(stored.entry), sha256=stored.sha256
        )

    def DownloadArtifact(
        self, request: pb.DownloadArtifactRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.DownloadArtifactResponse]:
        validate_relative_path(request.path, field="path", allow_root=True)
        repository = self._repository(request.run_id, writing=False, model_id=request.model_id)
        for item in send_tree(repository, request.path):
            if isinstance(item, bytes):
                yield pb.DownloadArtifactResponse(chunk=item)
            else:
                yield pb.DownloadArtifactResponse(
                    header=pb.DownloadArtifactHeader(
                        path=item.entry.path, file_size=item.entry.file_size, sha256=item.sha256
                    )
                )

    def ListArtifacts(self, request: pb.ListArtifactsRequest, context: grpc.ServicerContext):
        validate_relative_path(request.path, field="path", allow_root=True)
        repository = self._repository(request.run_id, writing=False, model_id=request.model_id)
        return pb.ListArtifactsResponse(
            root_uri=repository.root_uri,
            files=[convert.file_entry_to_proto(e) for e in repository.list(request.path)],
        )

    def DeleteArtifact(self, request: pb.DeleteArtifactRequest, context: grpc.ServicerContext):
        validate_relative_path(request.path, field="path")
        repository = self._repository(request.run_id, writing=True, model_id=request.model_id)
        repository.delete(request.path)
        return pb.DeleteArtifactResponse()


def _until_cancelled(messages: Iterable[T], context: grpc.ServicerContext) -> Iterator[T]:
    """The client's messages; ends quietly (no error to map) when the client cancels."""
    try:
        yield from messages
    except grpc.RpcError:
        if context.is_active():
            raise
        logger.info("stream cancelled by the client")


def _chunks_of(messages: Iterator[pb.UploadArtifactRequest]) -> Iterator[bytes]:
    for message in messages:
        if message.WhichOneof("content") != "chunk":
            raise InvalidArgument(
                "only the first message of UploadArtifact may carry a header; send bytes after it",
                field="header",
            )
        yield message.chunk
