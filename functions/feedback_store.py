"""Durable, anonymised storage of learner feedback events, in S3 or a local folder.

Each ``POST /feedback`` request is one batch, written as one JSON Lines
object whose key is a hash of the batch's sorted event ids. A client that
retries after a timeout or a 503 therefore writes the same key again, and a
batch is acknowledged only after the write succeeded, so nothing is lost and
nothing doubles. An event id repeated in another batch is dropped when the
events are read back (``read_events``), the first copy winning.

Learner ids never reach storage or logs: they are replaced by an HMAC-SHA256
of the id under a secret salt (``anonymise``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

EVENTS_FOLDER = "events"


class FeedbackStoreError(Exception):
    """A batch could not be written or the events could not be read."""


class FeedbackStore(Protocol):
    """A destination for batches: an S3 prefix or a local folder."""

    def put(self, key: str, body: bytes) -> None:
        """Write ``body`` under ``key``, replacing an object with the same key."""
        ...

    def batch_keys(self) -> Iterator[str]:
        """Yield every stored key, in sorted order."""
        ...

    def get(self, key: str) -> bytes:
        """Read one stored object."""
        ...


class S3FeedbackStore:
    """Batches under ``s3://{bucket}/{prefix}/``."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, body: bytes) -> None:
        """Write one batch object; raise FeedbackStoreError when S3 refuses."""
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=body, ContentType="application/x-ndjson"
            )
        except Exception as exc:  # botocore's client and connection errors alike
            raise FeedbackStoreError(f"cannot write s3://{self.bucket}/{self._key(key)}: {exc}") from exc

    def batch_keys(self) -> Iterator[str]:
        """List the batch keys, relative to the prefix."""
        paginator = self.s3.get_paginator("list_objects_v2")
        start = len(self._key("")) if self.prefix else 0
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(EVENTS_FOLDER + "/")):
            found += [item["Key"][start:] for item in page.get("Contents", [])]
        yield from sorted(found)

    def get(self, key: str) -> bytes:
        """Read one batch object."""
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return body


class LocalFeedbackStore:
    """Batches under a local folder, for the local server and tests."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, body: bytes) -> None:
        """Write one batch file atomically."""
        path = self.root / key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(body)
            tmp.replace(path)
        except OSError as exc:
            raise FeedbackStoreError(f"cannot write {path}: {exc}") from exc

    def batch_keys(self) -> Iterator[str]:
        """List the batch files, relative to the folder."""
        folder = self.root / EVENTS_FOLDER
        if folder.is_dir():
            yield from sorted(str(path.relative_to(self.root)) for path in folder.rglob("*.jsonl"))

    def get(self, key: str) -> bytes:
        """Read one batch file."""
        return (self.root / key).read_bytes()


def anonymise(learner_id: str, salt: bytes) -> str:
    """Return the HMAC-SHA256 of ``learner_id`` under ``salt``, as hex."""
    return hmac.new(salt, learner_id.encode("utf-8"), hashlib.sha256).hexdigest()


def batch_key(event_ids: Iterable[str], received: datetime) -> str:
    """Return the storage key of a batch: its day, then a hash of its sorted event ids."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode("utf-8")).hexdigest()[:32]
    return f"{EVENTS_FOLDER}/date={received.astimezone(UTC):%Y-%m-%d}/{digest}.jsonl"


def write_batch(store: FeedbackStore, events: list[dict[str, Any]], received: datetime) -> str:
    """Write one batch of already anonymised events and return its key.

    The key depends on the event ids and on the day of ``received``. A retry
    on another day therefore writes a second copy, which ``read_events`` drops.
    """
    if not events:
        raise ValueError("a feedback batch needs at least one event")
    key = batch_key((str(event["event_id"]) for event in events), received)
    body = "".join(json.dumps(event, sort_keys=True, default=str) + "\n" for event in events)
    store.put(key, body.encode("utf-8"))
    return key


def read_events(store: FeedbackStore) -> list[dict[str, Any]]:
    """Read every stored event once, dropping repeated event ids (the first copy wins)."""
    seen: set[str] = set()
    events: list[dict[str, Any]] = []
    for key in store.batch_keys():
        for line in store.get(key).decode("utf-8").splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            if event["event_id"] in seen:
                continue
            seen.add(event["event_id"])
            events.append(event)
    return events
