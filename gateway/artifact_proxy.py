"""MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`: PUT a file, GET a file,
DELETE a file or directory, GET the listing of `?path=`), streamed both ways over the tracking
service's UploadArtifact and DownloadArtifact: no whole file is held in memory.

MLflow names proxied files by a path under its artifact root; runs here show the root
`mlflow-artifacts:/<experiment id>/<run id>/artifacts` (`convert.proxied_artifact_uri`), so a
path is `<experiment id>/<run id>/artifacts/<path in the run>`, resolved by run id. LoggedModels
show `mlflow-artifacts:/<experiment id>/models/<model id>/artifacts`, resolved by model id.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import posixpath
import queue
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway import convert as c
from gateway.errors import RequestError
from gateway.tracking_calls import TrackingCalls
from mlgrpc.exceptions import NotFoundError, from_rpc_error
from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

_RUN_PATH = re.compile(r"^(\d+)/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_MODEL_PATH = re.compile(r"^(\d+)/models/(m-[0-9a-f]{32})/artifacts(?:/(.*))?$")
#: Bytes per UploadArtifact message: HTTP bodies arrive in small pieces, gRPC takes up to 4 MiB.
UPLOAD_MESSAGE_BYTES = 1024 * 1024
#: Messages buffered between the HTTP body and the gRPC stream (back-pressure beyond that).
UPLOAD_QUEUE_MESSAGES = 8


@dataclass(frozen=True)
class RunArtifact:
    run_id: str  # "" for a LoggedModel's artifact
    path: str  # relative to the run's (or model's) artifact root; "" is the root
    model_id: str = ""  # a LoggedModel's artifact instead of a run's


def resolve(tracking: TrackingCalls, proxied_path: str) -> RunArtifact:
    """The run (or LoggedModel) and path a proxied path names; the experiment in it must be
    the run's (the model's)."""
    model_match = _MODEL_PATH.match(proxied_path.strip("/"))
    if model_match is not None:
        experiment_id, model_id, path = (
            model_match.group(1),
            model_match.group(2),
            model_match.group(3) or "",
        )
        model = tracking.call("GetLoggedModel", lm.GetLoggedModelRequest(model_id=model_id)).model
        if model.experiment_id != experiment_id:
            raise NotFoundError(f"Logged model '{model_id}' is not in experiment {experiment_id}.")
        return RunArtifact("", path, model_id)
    match = _RUN_PATH.match(proxied_path.strip("/"))
    if match is None:
        raise RequestError(
            f"Artifact path {proxied_path!r} is not '<experiment id>/<run id>/artifacts/<path>' "
            "or '<experiment id>/models/<model id>/artifacts/<path>': the gateway proxies the "
            "artifacts of runs and logged models only."
        )
    experiment_id, run_id, path = match.group(1), match.group(2), match.group(3) or ""
    run = tracking.call("GetRun", pb.GetRunRequest(run_id=run_id)).run
    if run.info.experiment_id != experiment_id:
        raise NotFoundError(f"Run '{run_id}' is not in experiment {experiment_id}.")
    return RunArtifact(run_id, path)


def list_files(tracking: TrackingCalls, proxied_path: str) -> c.Json:
    """MLflow's proxied listing: entries named by their base names."""
    artifact = resolve(tracking, proxied_path)
    request = pb.ListArtifactsRequest(
        run_id=artifact.run_id, path=artifact.path, model_id=artifact.model_id
    )
    files = tracking.call("ListArtifacts", request).files
    entries = []
    for file in files:
        entry = c.file_info_json(file)
        entries.append(entry | {"path": posixpath.basename(file.path)})
    return c.page_json("files", entries, "")


def delete(tracking: TrackingCalls, artifact: RunArtifact) -> None:
    """Delete a file or a directory of the run's artifacts; nothing there is no error."""
    if not artifact.path:
        raise RequestError("Name the file or directory to delete under the run's artifact root.")
    tracking.call(
        "DeleteArtifact", pb.DeleteArtifactRequest(run_id=artifact.run_id, path=artifact.path)
    )


def open_download(tracking: TrackingCalls, artifact: RunArtifact) -> Response:
    """A streamed response of one file; its header is read first, so that a missing file is a
    404 body and not a broken stream."""
    if not artifact.path:
        raise RequestError("The run's artifact root is a directory; name a file.")
    stream = tracking.download(
        pb.DownloadArtifactRequest(
            run_id=artifact.run_id, path=artifact.path, model_id=artifact.model_id
        )
    )
    first = next(stream, None)
    if first is None or not first.HasField("header") or first.header.path != artifact.path:
        _close(stream)
        raise RequestError(f"Artifact '{artifact.path}' is a directory; name a file.")
    header = first.header
    media_type = mimetypes.guess_type(header.path)[0] or "application/octet-stream"
    return StreamingResponse(
        _file_chunks(stream),
        media_type=media_type,
        headers={"Content-Length": str(header.file_size)},
    )


def _file_chunks(stream: Iterator[pb.DownloadArtifactResponse]) -> Iterator[bytes]:
    try:
        for message in stream:
            if message.HasField("header"):  # the next file: not part of this one
                return
            yield message.chunk
    finally:
        _close(stream)


def _close(stream: Iterator[object]) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


async def upload(tracking: TrackingCalls, artifact: RunArtifact, request: Request) -> None:
    """Stream the request's body into UploadArtifact. The declared Content-Length becomes the
    header's file_size, so a body cut short is refused by the service rather than stored."""
    if not artifact.path:
        raise RequestError("Name the file to upload under the run's artifact root.")
    declared = request.headers.get("content-length", "")
    header = pb.UploadArtifactHeader(
        run_id=artifact.run_id,
        model_id=artifact.model_id,
        path=artifact.path,
        file_size=int(declared) if declared.isdigit() else 0,
    )
    pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=UPLOAD_QUEUE_MESSAGES)

    def messages() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(header=header)
        while (piece := pieces.get()) is not None:
            yield pb.UploadArtifactRequest(chunk=piece)

    call = tracking.upload(messages())
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    call.add_done_callback(lambda _: loop.call_soon_threadsafe(finished.set))
    try:
        async for piece in _pieces(request.stream()):
            if not await _put(pieces, piece, finished):
                break  # the call ended early (refused): its error is the answer
        await _put(pieces, None, finished)
    except BaseException:  # the caller went away, or the server stops: store nothing
        call.cancel()
        with contextlib.suppress(queue.Full):  # a full queue means no thread waits on it
            pieces.put_nowait(None)
        raise
    await finished.wait()
    try:
        call.result()
    except grpc.RpcError as error:
        raise from_rpc_error(error, method="UploadArtifact") from None


async def _put(
    pieces: queue.Queue[bytes | None], piece: bytes | None, ended: asyncio.Event
) -> bool:
    """Hand `piece` to the gRPC stream's thread without blocking the event loop; False once
    the call has ended (no one takes pieces any more)."""
    while not ended.is_set():
        try:
            pieces.put_nowait(piece)
            return True
        except queue.Full:
            await asyncio.sleep(0.001)
    return False


async def _pieces(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body regrouped into messages of UPLOAD_MESSAGE_BYTES (the last one shorter)."""
    buffer = bytearray()
    async for chunk in body:
        buffer += chunk
        while len(buffer) >= UPLOAD_MESSAGE_BYTES:
            yield bytes(buffer[:UPLOAD_MESSAGE_BYTES])
            del buffer[:UPLOAD_MESSAGE_BYTES]
    if buffer:
        yield bytes(buffer)
