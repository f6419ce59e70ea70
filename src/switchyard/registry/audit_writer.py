"""Batches audit records off the hot path and writes them to the store in the background."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio

from switchyard.registry.records import AuditRecord

log = logging.getLogger(__name__)


class AuditSink(Protocol):
    """Where batches go: a `Store`, or anything with its `append_audit`."""

    async def append_audit(self, records: Sequence[AuditRecord]) -> None: ...


_MAX_BACKOFF = 30.0


class AuditWriter:
    """Batches audit records off the hot path: submit() never blocks or awaits.

    Call `submit` from the event loop thread; run `run()` in a task group. With no store, records are
    discarded. A failed batch goes back to the front of the queue and is retried with backoff. `observer`
    sees every record submitted, store or not (metrics count refusals with it).
    """

    def __init__(
        self,
        store: AuditSink | None,
        *,
        max_batch: int = 256,
        flush_interval: float = 0.5,
        max_queue: int = 100_000,
        shutdown_timeout: float = 5.0,
        observer: Callable[[AuditRecord], None] | None = None,
        write_limit: float = 30.0,
    ) -> None:
        if max_batch < 1 or max_queue < 1 or flush_interval <= 0:
            raise ValueError("max_batch, max_queue and flush_interval must be positive")
        self._store = store
        self._max_batch = max_batch
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._shutdown_timeout = shutdown_timeout
        self._observer = observer
        self._write_limit = write_limit
        self._queue: deque[AuditRecord] = deque()
        self._wakeup: anyio.Event | None = None
        self._lock: anyio.Lock | None = None
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    def attach(self, store: AuditSink) -> None:
        """Start writing to `store` (given after construction); run `run()` after this."""
        self._store = store

    def submit(self, record: AuditRecord) -> None:
        """Queue `record`; when the queue is full the oldest record is dropped and counted."""
        if self._observer is not None:
            self._observer(record)
        if self._store is None:
            return
        queue = self._queue
        if len(queue) >= self._max_queue:
            queue.popleft()
            self.dropped += 1
        queue.append(record)
        if len(queue) >= self._max_batch and self._wakeup is not None:
            self._wakeup.set()

    async def run(self) -> None:
        """Write one batch every `flush_interval`, or as soon as `max_batch` records wait; drain when cancelled.

        Each wake-up writes at most one batch (one transaction) and then waits again: records that arrive
        while it is written wait for the next wake-up instead of each trickle getting a transaction of its
        own. A backlog of `max_batch` or more is written batch after batch without waiting.
        """
        if self._store is None:
            return
        backoff = 0.0
        try:
            while True:
                self._wakeup = anyio.Event()
                if len(self._queue) < self._max_batch:
                    with anyio.move_on_after(self._flush_interval):
                        await self._wakeup.wait()
                try:
                    await self._write_batch()
                except Exception:
                    backoff = min(max(backoff * 2, self._flush_interval), _MAX_BACKOFF)
                    log.exception("audit write failed; %d kept, retry in %.1fs", self.pending, backoff)
                    await anyio.sleep(backoff)
                else:
                    backoff = 0.0
        finally:
            self._wakeup = None
            with anyio.move_on_after(self._shutdown_timeout, shield=True) as scope:
                try:
                    await self.flush()
                except Exception:
                    log.exception("final audit write failed; %d records lost", self.pending)
            if scope.cancelled_caught:
                log.error("final audit write timed out; %d records lost", self.pending)

    async def flush(self) -> None:
        """Write everything queued now (including what arrives meanwhile), in batches of at most `max_batch`."""
        while self._queue:
            await self._write_batch()

    async def _write_batch(self) -> None:
        """Write the oldest `max_batch` queued records in one `append_audit`; on failure they go back in front."""
        if self._store is None:
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            queue = self._queue
            if not queue:
                return
            if len(queue) <= self._max_batch:
                batch = list(queue)
                queue.clear()
            else:
                popleft = queue.popleft
                batch = [popleft() for _ in range(self._max_batch)]
            try:
                # Shielded: a write cancelled after the database committed it would be requeued and written
                # twice. Cancellation waits for the write instead, up to a limit.
                with anyio.move_on_after(self._write_limit, shield=True) as scope:
                    await self._store.append_audit(batch)
                if scope.cancelled_caught:
                    raise TimeoutError(f"audit write took over {self._write_limit:g}s")
            except BaseException:
                self._requeue(batch)
                raise

    def _requeue(self, batch: list[AuditRecord]) -> None:
        """Put an unwritten batch back in front, dropping its oldest records if the queue filled meanwhile."""
        room = self._max_queue - len(self._queue)
        if room < len(batch):
            overflow = len(batch) - max(room, 0)
            self.dropped += overflow
            batch = batch[overflow:]
        self._queue.extendleft(reversed(batch))
