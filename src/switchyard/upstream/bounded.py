"""Reading a backend's HTTP body without letting it take more memory than a limit, counted after decoding.

The body is decompressed here (gzip and deflate only, which is all the gateway asks for), in slices of at most
`SLICE` bytes, so a small compressed body that inflates to gigabytes is stopped at the limit instead of being
inflated whole in one step.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2

ACCEPT_ENCODING = "gzip, deflate"
SLICE = 64 * 1024


class TooLarge(Exception):
    """The body went over the limit; reading stopped there."""


class BadEncoding(Exception):
    """A Content-Encoding the gateway did not ask for, or a body that does not decode."""


async def decoded(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The body's bytes, decompressed in bounded slices."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        async for chunk in response.aiter_raw():
            yield chunk
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise BadEncoding(f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # zlib or gzip framing, detected
    try:
        async for chunk in response.aiter_raw():
            data = chunk
            while data:
                out = inflater.decompress(data, SLICE)
                data = inflater.unconsumed_tail
                if out:
                    yield out
    except zlib.error as exc:
        raise BadEncoding(f"body does not decode as {encoding}: {exc}") from None


async def read(response: httpx2.Response, limit: int) -> bytes:
    """The whole decoded body, or TooLarge as soon as it passes `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
        raise TooLarge
    parts: list[bytes] = []
    size = 0
    async for chunk in decoded(response):
        size += len(chunk)
        if size > limit:
            raise TooLarge
        parts.append(chunk)
    return b"".join(parts)


class TextView:
    """What `httpx2.EventSource` reads of a response, with the body decoded in bounded slices."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self.headers = response.headers
        self.request: Any = response.request

    async def aiter_text(self) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        async for chunk in decoded(self._response):
            if text := decoder.decode(chunk):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail
