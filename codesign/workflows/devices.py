"""Process set-up for sweeps and long runs: fake CPU devices, the compile cache, jax.distributed.

Must run before anything touches a JAX backend (the first computation fixes the devices).
"""
import os

from ..design.fields import COUNT, Range, integer
from ..errors import ConfigError


def default_cache_dir() -> str | None:
    """``$CODESIGN_JAX_CACHE`` (``off`` disables), else ``$XDG_CACHE_HOME/codesign/jax``."""
    cache = os.environ.get("CODESIGN_JAX_CACHE", os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "codesign", "jax"))
    return None if not cache or cache == "off" else cache


def _check_distributed(coordinator, num_processes, process_id):
    """The explicit jax.distributed settings, before jax sees them (it would fail deep inside,
    or wait for a coordinator that cannot exist)."""
    if coordinator is not None:
        host, _, port = str(coordinator).rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(f"coordinator = {coordinator!r}; allowed: HOST:PORT with a port in 1..65535 "
                              "(process 0's address, e.g. node001:12345)")
    if num_processes is not None:
        integer("num_processes", num_processes, COUNT)
    if process_id is not None:
        top = num_processes - 1 if num_processes is not None else COUNT.hi
        integer("process_id", process_id, Range(0, top))
        if num_processes is None or coordinator is None:
            raise ConfigError("process_id needs num_processes and coordinator as well (or none of them: "
                              "auto-detected on Slurm, TPU pods and Open MPI)")


def configure_jax(cpu_devices: int | None = None, distributed: bool = False, coordinator: str | None = None,
                  num_processes: int | None = None, process_id: int | None = None,
                  cache_dir: str | None = "default"):
    """Split the host CPU into ``cpu_devices`` JAX devices, turn on the persistent compile
    cache (``cache_dir``; "default": :func:`default_cache_dir`; None: off) so resumed and
    repeated runs skip compiling, and with ``distributed`` join a ``jax.distributed`` run
    (coordinator etc. auto-detected on Slurm, TPU pods and Open MPI when None)."""
    import jax  # noqa: PLC0415

    if cpu_devices is not None and (isinstance(cpu_devices, bool) or not isinstance(cpu_devices, int)
                                    or cpu_devices < 1):
        raise ConfigError(f"cpu_devices = {cpu_devices!r}; allowed: a positive integer")
    if not distributed and any(v is not None for v in (coordinator, num_processes, process_id)):
        raise ConfigError("coordinator, num_processes and process_id need distributed = True")
    if distributed:
        _check_distributed(coordinator, num_processes, process_id)
    if cpu_devices:
        jax.config.update("jax_num_cpu_devices", cpu_devices)
    cache = default_cache_dir() if cache_dir == "default" else cache_dir
    if cache and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    if distributed:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id)
