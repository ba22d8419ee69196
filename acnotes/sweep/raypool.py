"""Running chunks as Ray tasks, locally or on a cluster (``pip install 'acnotes[cluster]'``)."""

from __future__ import annotations

import os
from typing import Sequence

from .chunks import Chunk, _one_line, run_chunk

def ray_available() -> bool:
    """True if Ray can be imported (``pip install 'acnotes[cluster]'``)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _warm_up() -> None:
    import time

    from .. import train  # noqa: F401 - imports torch and gymnasium in the worker
    time.sleep(0.2)  # hold the CPU briefly, so that the next warm-up goes to another worker


def _ray_chunk(chunk: Chunk, threshold: float):
    """The body of a Ray task: one chunk, in a worker process."""
    return run_chunk(chunk, threshold)


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
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance
            kw = dict(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False)
        else:
            kw = dict(address=address)
        for attempt in (1, 2):
            try:
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

