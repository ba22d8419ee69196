"""Running chunks as Ray tasks, locally or on a cluster (``pip install 'acnotes[cluster]'``).

A local Ray (no ``address``) is private to this machine: every Ray process listens on the
loopback address only, and Ray's token authentication stays on (Ray >= 2.59 turns it on for a
local ``ray.init()`` and keeps the token in ``~/.ray/auth_token``). Ray binds its servers to the
node's address, which is the loopback address when Ray's single-machine mode is chosen with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's own switch; on macOS and Windows it is the
default). ``RayPool`` checks the address after start-up and stops Ray if it is another one.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from contextlib import contextmanager, nullcontext
from typing import Sequence

from .chunks import Chunk, _one_line, run_chunk

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def ray_available() -> bool:
    """True if Ray is installed (``pip install 'acnotes[cluster]'``); Ray is not imported."""
    return importlib.util.find_spec("ray") is not None


@contextmanager
def _single_machine():
    """Inside the block, Ray's single-machine mode, for starting a local instance: its node
    address is the loopback one, so its processes (which inherit this environment) listen on
    127.0.0.1 only. Afterwards the environment is as it was."""
    old = os.environ.get(_SINGLE_MACHINE)
    os.environ[_SINGLE_MACHINE] = "0"
    consts = sys.modules.get("ray._private.ray_constants")
    before = getattr(consts, "ENABLE_RAY_CLUSTER", None)
    if consts is not None:  # Ray imported already (by a test, say): it read the variable then
        consts.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_SINGLE_MACHINE, None)
        else:
            os.environ[_SINGLE_MACHINE] = old
        if consts is not None:
            consts.ENABLE_RAY_CLUSTER = before


def _warm_up() -> None:
    import time

    from .. import train  # noqa: F401 - imports torch and gymnasium in the worker
    time.sleep(0.2)  # hold the CPU briefly, so that the next warm-up goes to another worker


def _ray_chunk(chunk: Chunk, threshold: float):
    """The body of a Ray task: one chunk, in a worker process."""
    return run_chunk(chunk, threshold)


def _restore(handlers: dict) -> None:
    import threading

    if threading.current_thread() is threading.main_thread():
        for s, h in handlers.items():
            if h is not None:
                signal.signal(s, h)


class RayStartError(RuntimeError):
    """Ray did not start (or the cluster could not be reached)."""


class RayPool:
    """Chunks as Ray tasks, one CPU each, on a local Ray instance or an existing cluster.

    ``RayPool(address=None, num_cpus=2)`` starts Ray on this machine (no dashboard, worker
    logs not copied to the terminal); ``RayPool(address="HOST:6379")`` joins a cluster
    started with ``ray start --head``. ``started`` is the seconds Ray took to start.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        import time

        import ray

        t0 = time.perf_counter()
        if address is None:
            kw = dict(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False)
        else:
            kw = dict(address=address)
        ours = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for attempt in (1, 2):
            try:
                with _single_machine() if address is None else nullcontext():
                    ray.init(log_to_driver=False, configure_logging=False, **kw)
                break
            except Exception as e:  # noqa: BLE001 - Ray raises plain Exceptions at start-up
                ray.shutdown()
                if attempt == 2 or address is not None:
                    where = f"the cluster at {address}" if address else "Ray on this machine"
                    raise RayStartError(
                        f"could not start {where}: {_one_line(e)} (Ray's own logs are in "
                        f"/tmp/ray/session_latest/logs; on a busy machine its agents can miss a "
                        f"start-up timeout). Try again, or use --backend local") from None
        _restore(ours)  # Ray installs its own SIGTERM handler (it aborts): ours saves and exits 130
        if address is None:
            where = ray.util.get_node_ip_address()
            if where not in _LOOPBACK:
                ray.shutdown()
                raise RayStartError(f"the local Ray started on {where}, not on the loopback address, so "
                                    f"other machines could reach it; use --backend local")
        self.ray = ray
        self.task = ray.remote(num_cpus=1, max_retries=0)(_ray_chunk)
        self.cpus = int(ray.cluster_resources().get("CPU", 0))
        # start the workers and import torch in each now, so that it counts as start-up
        warm = ray.remote(num_cpus=1)(_warm_up)
        ray.get([warm.remote() for _ in range(self.cpus)])
        self.started = time.perf_counter() - t0

    def run(self, chunks: Sequence[Chunk], threshold: float):
        """Submit every chunk; yield (chunk, (rows, histories) or the exception) as each ends."""
        ray = self.ray
        pending = {self.task.remote(ch, threshold): ch for ch in chunks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    ch = pending.pop(ref)
                    try:
                        yield ch, ray.get(ref)
                    except (ray.exceptions.RayError, Exception) as e:  # noqa: BLE001
                        yield ch, e
        finally:
            for ref in pending:  # interrupted: stop the rest
                ray.cancel(ref, force=True)

    def close(self) -> None:
        self.ray.shutdown()

