"""A minimal keep-alive HTTP/1.1 client for the load benches: one request at a time per connection, the
answer read by its Content-Length.

A general client costs the machine the benches measure: httpx's pool spent whole milliseconds per
request once hundreds waited (bench.api_load), and posting 100-event usage batches through httpx took
~20% of a core beside the API's ~70% (bench.rating, 2026-12-02). Real clients run on other machines, so
the benches send through this instead; bodies are encoded before the clock starts, as every input is.
"""

from __future__ import annotations

import asyncio


class Connection:
    """One keep-alive HTTP/1.1 connection to ``host:port``; ``headers`` (``Name: value\\r\\n`` lines) go
    with every request. Opened on first use, and again after :meth:`close`."""

    def __init__(self, host: str, port: int, headers: bytes) -> None:
        self.host, self.port, self.headers = host, port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``: (status, body)."""
        return await self.request(b"GET", path)

    async def post(self, path: str, body: bytes, headers: bytes = b"") -> tuple[int, bytes]:
        """POST a JSON ``body`` to ``path`` with extra ``headers``: (status, body)."""
        extra = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body) + headers
        return await self.request(b"POST", path, extra, body)

    async def request(
        self, method: bytes, path: str, headers: bytes = b"", body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            method + b" " + path.encode() + b" HTTP/1.1\r\n" + self.headers + headers + b"\r\n" + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
