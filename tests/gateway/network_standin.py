"""An HTTP forward proxy on loopback that stands in for the network of an unchanged script.

A script run with `HTTP_PROXY` pointed here sends every plain-HTTP request to it (Python's
urllib, pandas and requests all honour the variable): a URL listed in `files` is answered with
that local file (the seed's UCI dataset: no network at run time), and a request to one of
`hosts` (e.g. `localhost:5000`) is forwarded to the address given for it (the gateway on its
ephemeral port). Anything else is a 502, so that the script cannot quietly reach the Internet.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


def _handler(files: Mapping[str, Path], hosts: Mapping[str, str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: the test reads the script's own output

        def _answer(self) -> None:
            if self.path in files:
                self._send(200, files[self.path].read_bytes(), {"Content-Type": "text/csv"})
                return
            url = urllib.parse.urlsplit(self.path)
            target = hosts.get(url.netloc)
            if target is None:
                self._send(502, f"no network here for {self.path}".encode(), {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = url.path + (f"?{url.query}" if url.query else "")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection = http.client.HTTPConnection(target, timeout=120)
            try:
                connection.request(self.command, path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
                kept = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
                }
                self._send(response.status, content, kept)
            finally:
                connection.close()

        def _send(self, status: int, content: bytes, headers: Mapping[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    return Handler


@contextmanager
def network_standin(files: Mapping[str, Path], hosts: Mapping[str, str]) -> Iterator[str]:
    """Serve the proxy on a free loopback port; yields its URL for HTTP_PROXY."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files, hosts))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
