"""A TCP proxy on loopback that a test can cut and restore: a store going away, for one client.

The machine's RabbitMQ serves other people too, so a drill never stops it: the stack talks
to it through this proxy, and `cut()` closes every connection and refuses new ones (as a
RabbitMQ that went down would), `restore()` lets them through again on the same port.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

from tests.integration.conftest import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `upstream` until cut."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._accepting: threading.Thread | None = None

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cut()

    def restore(self) -> None:
        """Listen again and forward every new connection."""
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR set
        self._listener = listener
        self._stopped.clear()
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        """Close every forwarded connection and the listening port (connections are refused)."""
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._accepting is not None:
            self._accepting.join(5)
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:  # both ends see the connection end; the pipes close them
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=3)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        client.setblocking(True)
        server.setblocking(True)
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select(timeout=0.2):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        data = source.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self._close(client, server)
                        return
                    try:
                        peers[source].sendall(data)
                    except OSError:
                        self._close(client, server)
                        return

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self._lock:
                if sock in self._open:
                    self._open.remove(sock)
            with contextlib.suppress(OSError):
                sock.close()
