"""uvicorn's httptools protocol, sending a response's head and body in one write.

uvicorn writes the status line and headers, then the body: two `send` calls on the socket for
every answer, and on loopback each costs about as much as parsing the request. Here the
transport the protocol sees holds the head back and sends it with the next write (the body,
which an ASGI app sends right after), or at the end of the event-loop step if none follows.
Writes stay in order whatever they are: holding only ever delays the head, by one step at most.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD = b"HTTP/1.1 "
_INTERIM = b"HTTP/1.1 1"  # 100 Continue and the like: the client waits for it, sent at once


class _HeadWithBody:
    """The transport as the protocol sees it: a response head waits for the body."""

    __slots__ = ("_transport", "_held", "_loop")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._held: bytes | None = None
        self._loop = loop

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data, self._held = self._held + data, None
            self._transport.write(data)
        elif data.startswith(_HEAD) and not data.startswith(_INTERIM):
            self._held = data
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        if self._held is not None:
            data, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:  # is_closing, pause_reading, get_extra_info…
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose answers go out in one write each (`http=` of uvicorn.Config)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_HeadWithBody(transport, self.loop))  # type: ignore[arg-type]
