"""SPMD helpers of a sweep: process 0's starting state (or its refusal) to every process."""
import io

import numpy as np

from ..errors import ConfigError
from ..sweep import reductions as R


def share_state(lead: bool, payload: bytes | None, error: str | None) -> bytes:
    """Broadcast process 0's packed state; if it refused (``error``), every process raises."""
    from jax.experimental import multihost_utils  # noqa: PLC0415 (multi-process runs only)
    head = np.array([0 if error else 1, len(payload or b"")], np.int32)
    head = np.asarray(multihost_utils.broadcast_one_to_all(head))
    if head[0] == 0:
        raise ConfigError(error or "process 0 refused to start (see its message)")
    buf = np.frombuffer(payload, np.uint8) if lead else np.zeros(int(head[1]), np.uint8)
    if head[1]:
        buf = np.asarray(multihost_utils.broadcast_one_to_all(buf))
    return buf.tobytes()


def pack(red, done) -> bytes:
    buf = io.BytesIO()
    arrays = R.to_arrays(red) if red is not None else {}
    np.savez(buf, done=np.array(done, np.int64).reshape(-1, 2), **arrays)
    return buf.getvalue()


def unpack(spec, data: bytes):
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files}
    done = [[int(a), int(b)] for a, b in arrays.pop("done").tolist()]
    return (R.from_arrays(spec, arrays) if arrays else None), done
