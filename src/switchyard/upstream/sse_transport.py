"""The legacy HTTP+SSE transport (2024-11-05 servers), through the official SDK's client, converted to and from
plain dicts at the edge. Rare and deprecated, so it is not worth a raw implementation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.client.sse import sse_client
from mcp.shared.message import SessionMessage
from mcp_types.jsonrpc import jsonrpc_message_adapter

from switchyard.config import ServerConfig
from switchyard.protocol.jsonrpc import Message
from switchyard.upstream.transports import MessageStream


class SdkStream:
    """Adapts the SDK's model-based streams to plain dicts at the edge."""

    def __init__(self, name: str, read: Any, write: Any) -> None:
        self._name = name
        self._read = read
        self._write = write
        self._error: str | None = None
        self.protocol_version: str | None = None  # HTTP+SSE servers predate 2026-07-28: always None

    async def send(self, message: Message) -> None:
        await self._write.send(SessionMessage(jsonrpc_message_adapter.validate_python(message)))

    async def __aiter__(self) -> AsyncIterator[Message]:
        async for item in self._read:
            if isinstance(item, Exception):
                self._error = str(item)
                logging.getLogger(f"switchyard.backend.{self._name}").warning("transport error: %s", item)
                continue
            yield item.message.model_dump(by_alias=True, exclude_unset=True, mode="json")

    def exit_reason(self) -> str:
        return f"connection closed: {self._error}" if self._error else "connection closed"


@asynccontextmanager
async def open_sse(config: ServerConfig) -> AsyncIterator[MessageStream]:
    assert config.url is not None
    async with sse_client(config.url, headers=dict(config.headers), timeout=config.timeout or 30.0) as (
        read,
        write,
    ):
        yield SdkStream(config.name, read, write)
