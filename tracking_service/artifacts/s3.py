"""Artifacts as objects in an S3-compatible store (`s3://bucket/prefix` URIs), through boto3.

The endpoint comes from `MLGRPC_S3_ENDPOINT_URL` (MinIO, Ceph, moto…; unset: AWS itself, or
boto3's own `AWS_ENDPOINT_URL_S3`), credentials and region from boto3's usual chain
(environment, `~/.aws`, instance roles). Paths are checked exactly as for local files; S3 has
no symlinks, so a checked path maps to one key below the run's prefix and cannot leave it.

Uploads never expose a partial object: a file smaller than one part is sent by one PutObject
after its size and sha256 are verified; a larger one goes up as a multipart upload, one part
held in memory at a time, which is completed only after the verification (an aborted or failed
upload is aborted, and S3 never shows an uncompleted multipart upload as an object). Buckets
should still carry a lifecycle rule that aborts incomplete multipart uploads, for uploads cut
short by a server crash.

The sha256 of each upload is kept with the object (metadata when sent in one piece, a tag
after a multipart upload, whose metadata is fixed before its content is known), so that a
download announces it without reading the object twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from tracking_service.artifacts.interface import (
    CHUNK_BYTES,
    FileEntry,
    StoredFile,
    check_received,
)
from tracking_service.artifacts.paths import validate_relative_path

logger = logging.getLogger(__name__)

ENDPOINT_ENV = "MLGRPC_S3_ENDPOINT_URL"
#: Bytes per multipart part (S3 wants ≥ 5 MiB for all but the last; at most 10,000 parts,
#: so files up to ~80 GB). Also the most an upload holds in memory.
PART_BYTES = 8 * 1024 * 1024
SHA256_KEY = "mlgrpc-sha256"  # metadata key (x-amz-meta-…) and tag key
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MISSING = ("404", "NoSuchKey", "NotFound")

_clients: dict[tuple[int, str | None], Any] = {}
_clients_lock = threading.Lock()


def s3_client() -> Any:
    """The shared boto3 S3 client for the configured endpoint (thread-safe, pooled)."""
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    key = (os.getpid(), endpoint)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            config = Config(
                max_pool_connections=64,
                retries={"mode": "standard"},
                # Private endpoints (MinIO, moto, Ceph) rarely resolve bucket subdomains.
                s3={"addressing_style": "path" if endpoint else "auto"},
            )
            client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
            _clients[key] = client
        return client


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix")."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise FailedPrecondition(
            f"artifact URI {uri!r} is not 's3://bucket/prefix'", field="artifact_uri"
        )
    return parsed.netloc, parsed.path.strip("/")


@contextlib.contextmanager
def s3_errors(uri: str) -> Iterator[None]:
    """S3 failures that are not the caller's fault as precise statuses naming the store."""
    try:
        yield
    except (BotoConnectionError, ResponseStreamingError, ConnectionError) as error:
        raise Unavailable(
            f"the S3 endpoint of {uri!r} cannot be reached: {error}", field="artifact_uri"
        ) from error
    except NoCredentialsError as error:
        raise FailedPrecondition(
            f"the tracking server has no S3 credentials for {uri!r}", field="artifact_uri"
        ) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise FailedPrecondition(
                f"the bucket of {uri!r} does not exist", field="artifact_uri"
            ) from error
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            raise FailedPrecondition(
                f"the tracking server's S3 credentials are refused for {uri!r} ({code})",
                field="artifact_uri",
            ) from error
        raise


class S3ObjectWriter:
    """One upload: parts of `PART_BYTES` go up as they fill, hashed as they arrive."""

    def __init__(self, repository: S3ArtifactRepository, path: str, field: str) -> None:
        self._repo = repository
        self._key = repository.key_of(path)
        self._relative_path = path
        self._field = field
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        self._digest.update(chunk)
        self._size += len(chunk)
        while len(self._buffer) >= self._repo.part_bytes:
            part = bytes(self._buffer[: self._repo.part_bytes])
            del self._buffer[: self._repo.part_bytes]
            self._send_part(part)

    def _send_part(self, data: bytes) -> None:
        client, bucket = self._repo.client, self._repo.bucket
        with s3_errors(self._repo.root_uri):
            if self._upload_id is None:
                created = client.create_multipart_upload(Bucket=bucket, Key=self._key)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            sent = client.upload_part(
                Bucket=bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
            )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def commit(self, *, expected_sha256: str = "", expected_size: int = 0) -> StoredFile:
        sha256 = self._digest.hexdigest()
        try:
            check_received(
                size=self._size, sha256=sha256, expected_size=expected_size,
                expected_sha256=expected_sha256,
            )  # fmt: skip
            if self._repo.is_directory(self._key):
                raise InvalidArgument(
                    f"{self._field} {self._relative_path!r} is an existing directory",
                    field=self._field,
                )
            self._publish(sha256)
        except BaseException:
            self.abort()
            raise
        self._done = True
        entry = FileEntry(self._relative_path, is_dir=False, file_size=self._size)
        return StoredFile(entry, sha256)

    def _publish(self, sha256: str) -> None:
        client, bucket = self._repo.client, self._repo.bucket
        if self._upload_id is None:
            with s3_errors(self._repo.root_uri):
                client.put_object(
                    Bucket=bucket,
                    Key=self._key,
                    Body=bytes(self._buffer),
                    Metadata={SHA256_KEY: sha256},
                )
            return
        if self._buffer:
            self._send_part(bytes(self._buffer))
        with s3_errors(self._repo.root_uri):
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._done = True  # published: nothing left for abort to undo
        try:
            client.put_object_tagging(
                Bucket=bucket,
                Key=self._key,
                Tagging={"TagSet": [{"Key": SHA256_KEY, "Value": sha256}]},
            )
        except (BotoCoreError, ClientError) as error:
            # Only costs a second read when the file is downloaded.
            logger.warning("could not tag s3://%s/%s with its sha256: %s", bucket, self._key, error)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        try:
            self._repo.client.abort_multipart_upload(
                Bucket=self._repo.bucket, Key=self._key, UploadId=self._upload_id
            )
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "could not abort the multipart upload of s3://%s/%s (a bucket lifecycle rule "
                "will): %s",
                self._repo.bucket,
                self._key,
                error,
            )


#: Keys per DeleteObjects request (S3's limit).
_DELETE_BATCH = 1000


class S3ArtifactRepository:
    """The artifacts of one run, as objects below `s3://bucket/prefix/`."""

    def __init__(self, root_uri: str, *, client: Any = None, part_bytes: int = PART_BYTES):
        self.root_uri = root_uri
        self.bucket, self.prefix = parse_s3_uri(root_uri)
        self.client = client if client is not None else s3_client()
        self.part_bytes = part_bytes

    # Keys

    def key_of(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _dir_prefix(self, path: str) -> str:
        """The key prefix of the "directory" `path` ("" is the run's root), with its "/"."""
        base = self.key_of(path) if path else self.prefix
        return f"{base}/" if base else ""

    def _relative(self, key: str) -> str:
        return key[len(self._dir_prefix("")) :].rstrip("/")

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            with s3_errors(self.root_uri):
                return self.client.head_object(Bucket=self.bucket, Key=key)  # type: ignore[no-any-return]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise

    def is_directory(self, key: str) -> bool:
        with s3_errors(self.root_uri):
            found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{key}/", MaxKeys=1)
        return bool(found.get("KeyCount"))

    def _pages(self, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        with s3_errors(self.root_uri):
            yield from paginator.paginate(Bucket=self.bucket, Prefix=prefix, **kwargs)

    # The ArtifactRepository protocol

    def open_writer(self, path: str, *, field: str = "path") -> S3ObjectWriter:
        validate_relative_path(path, field=field)
        # As on a file system: a file cannot sit below another file.
        segments = path.split("/")
        for depth in range(1, len(segments)):
            parent = "/".join(segments[:depth])
            if self._head(self.key_of(parent)) is not None:
                raise InvalidArgument(
                    f"{field} {path!r}: a parent of it ({parent!r}) is an existing file",
                    field=field,
                )
        return S3ObjectWriter(self, path, field)

    def walk(self, path: str) -> list[FileEntry]:
        validate_relative_path(path, field="path", allow_root=True)
        if path:
            head = self._head(self.key_of(path))
            if head is not None:
                return [FileEntry(path, is_dir=False, file_size=int(head["ContentLength"]))]
        entries = [
            FileEntry(self._relative(item["Key"]), is_dir=False, file_size=int(item["Size"]))
            for page in self._pages(self._dir_prefix(path))
            for item in page.get("Contents", [])
            if not item["Key"].endswith("/")  # "folder" markers some consoles create
        ]
        if not entries:
            raise NotFound(f"no artifact at path {path!r} in this run", field="path")
        return sorted(entries, key=lambda e: e.path)

    def read(self, path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        validate_relative_path(path, field="path")
        try:
            with s3_errors(self.root_uri):
                body = self.client.get_object(Bucket=self.bucket, Key=self.key_of(path))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise NotFound(f"no artifact file at path {path!r}", field="path") from error
            raise
        with contextlib.closing(body), s3_errors(self.root_uri):
            yield from body.iter_chunks(chunk_bytes)

    def list(self, path: str) -> list[FileEntry]:
        validate_relative_path(path, field="path", allow_root=True)
        prefix = self._dir_prefix(path)
        entries = []
        for page in self._pages(prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                entries.append(FileEntry(self._relative(common["Prefix"]), True, 0))
            for item in page.get("Contents", []):
                if item["Key"] != prefix and not item["Key"].endswith("/"):
                    entries.append(FileEntry(self._relative(item["Key"]), False, int(item["Size"])))
        return sorted(entries, key=lambda e: e.path)

    def delete(self, path: str) -> None:
        validate_relative_path(path, field="path")
        keys = [self.key_of(path)] if self._head(self.key_of(path)) is not None else []
        keys += [
            item["Key"]
            for page in self._pages(self._dir_prefix(path))
            for item in page.get("Contents", [])
        ]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _DELETE_BATCH]]
            with s3_errors(self.root_uri):
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    # Optional: used by `transfer.sha256_of` to avoid reading an object twice.

    def recorded_sha256(self, path: str) -> str | None:
        """The sha256 recorded at upload (metadata or tag), or None if there is none."""
        key = self.key_of(path)
        head = self._head(key)
        if head is None:
            return None
        recorded = head.get("Metadata", {}).get(SHA256_KEY, "")
        if not recorded and "-" in head.get("ETag", ""):  # a multipart upload: look at the tag
            try:
                tags = self.client.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
            except (BotoCoreError, ClientError):
                return None
            recorded = next((t["Value"] for t in tags if t["Key"] == SHA256_KEY), "")
        return recorded if _SHA256.fullmatch(recorded) else None
