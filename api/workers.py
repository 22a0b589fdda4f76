"""`spotsel serve --workers N`: uvicorn's supervisor, each worker on a listening socket of its own.

uvicorn binds one socket in the parent and every worker accepts from it, so a burst of new
connections (a client pool opening its keep-alive connections) goes to whichever worker wakes
first, and keep-alive pins them there. Measured with `bench/api.py --workers 2` at 8 and 16
clients: in about half the runs every connection landed on one worker, which served ~260 req/s
with p99 ~118 ms while the other idled; balanced runs served 420-490 req/s.

On Linux each worker here binds its own socket with SO_REUSEPORT, and the kernel spreads new
connections over the workers' sockets by a hash of their addresses. uvicorn's supervisor (health
checks, restarts, signals) runs as it is; only the socket each worker serves on changes. Before
the workers start, the parent checks that nothing is bound to the address: a bind without
SO_REUSEPORT fails on any socket there, so a second server on the same port is refused rather
than left to share its connections. Elsewhere, uvicorn's shared socket is kept.
"""

from __future__ import annotations

import inspect
import logging
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess

__all__ = ["own_sockets_supported", "run_workers"]

log = logging.getLogger("uvicorn.error")


def own_sockets_supported() -> bool:
    """Whether the kernel balances connections over SO_REUSEPORT sockets (Linux), and
    uvicorn's supervisor makes its workers as this module expects."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT") and _supervisor_fits()


def _supervisor_fits() -> bool:
    """uvicorn's supervisor as known here (0.54): each worker is `multiprocess.Process(config,
    sockets)`, whose `target(sockets)` runs in the worker. Another shape keeps the shared
    socket (workers still serve, only unbalanced) rather than fail at start."""
    made_as = list(inspect.signature(multiprocess.Process.__init__).parameters)
    fits = made_as == ["self", "config", "sockets"] and callable(
        getattr(multiprocess.Process, "target", None)
    )
    if not fits:
        log.warning("uvicorn's worker supervisor changed: workers share one listening socket")
    return fits


def run_workers(app: str, *, workers: int, **options: Any) -> None:
    """Serve the app factory `app` from `workers` processes until interrupted (as
    `uvicorn.run(app, factory=True, workers=...)`), each on its own socket."""
    config = uvicorn.Config(app, factory=True, workers=workers, **options)
    config.port = _free_port(config.host, config.port)
    log.info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit); %d workers, each on its own "
        "SO_REUSEPORT socket",
        config.host,
        config.port,
        workers,
    )
    # The supervisor makes each worker (first start, restart) as `multiprocess.Process`: in this
    # process only, for as long as it supervises, that is a worker with a socket of its own.
    shared_socket_process = multiprocess.Process
    multiprocess.Process = _OwnSocketProcess  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        multiprocess.Process = shared_socket_process  # type: ignore[misc]


class _OwnSocketProcess(multiprocess.Process):
    """A worker that listens on a socket it binds itself, in the worker process."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        super().target([_reuse_port_socket(self.config.host, self.config.port)])


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _free_port(host: str, port: int) -> int:
    """`port` (a free one for 0) once a bind without SO_REUSEPORT shows nothing is bound there;
    exits 1 as uvicorn does when the address is taken."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        # As uvicorn binds: connections of an earlier server left in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            log.error("%s", exc)
            sys.exit(1)
        free: int = probe.getsockname()[1]
        return free
