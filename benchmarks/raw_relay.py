"""The floor for a stdio relay: the least a gateway must do per message, as a reference for the benchmark.

    python benchmarks/raw_relay.py -- COMMAND [ARGS...]

Newline-delimited JSON-RPC from stdin to one backend subprocess and back: parse each line with orjson, give
requests a relay-owned id (as a multiplexing gateway must), restore the client's id on the response,
re-serialise. No routing, policies, audit or handshake of its own. DESIGN.md ("Rules of the hot path")
quotes such a relay at under 0.2 ms and about 75 microseconds of CPU per call.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from typing import Any

import orjson

LIMIT = 64 * 1024 * 1024


async def relay(command: str, args: list[str]) -> int:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin.buffer)
    stdout, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    backend = await asyncio.create_subprocess_exec(
        command, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=LIMIT
    )
    assert backend.stdin is not None and backend.stdout is not None
    to_backend, from_backend = backend.stdin, backend.stdout
    ids = itertools.count(1)
    pending: dict[int, Any] = {}

    async def upstream() -> None:
        while line := await stdin.readline():
            message = orjson.loads(line)
            if "method" in message and "id" in message:
                relay_id = next(ids)
                pending[relay_id] = message["id"]
                message["id"] = relay_id
            to_backend.write(orjson.dumps(message) + b"\n")
            await to_backend.drain()
        to_backend.close()

    async def downstream() -> None:
        while line := await from_backend.readline():
            message = orjson.loads(line)
            if "method" not in message and message.get("id") in pending:
                message["id"] = pending.pop(message["id"])
            stdout.write(orjson.dumps(message) + b"\n")

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(upstream())
        tasks.create_task(downstream())
    return await backend.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: raw_relay.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return asyncio.run(relay(argv[0], argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
