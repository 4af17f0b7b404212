"""One writer per sweep directory: an advisory lock (flock) on the directory itself, so two
sweeps started into one directory do not interleave their commits. No lock file is created
(an empty directory stays empty); the holder's pid is read from /proc/locks where there is one.
"""
import contextlib
import os

from ..errors import ConfigError

try:
    import fcntl
except ImportError:  # not POSIX: no lock (one run per directory is then the user's to keep)
    fcntl = None


def _holder_pid(path: str) -> int | None:
    """pid of the process holding a flock on ``path`` (Linux /proc/locks), or None."""
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks") as f:
            for entry in f:
                parts = entry.split()
                if "FLOCK" in parts and parts[-3].rsplit(":", 1)[-1] == str(inode):
                    return int(parts[-4])
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.contextmanager
def exclusive_dir(path, argument: str = "out_dir"):
    """Hold the directory ``path`` (created if missing) for this process for the block.

    Raises:
        ConfigError: another process holds it: names that process's pid and how to proceed.
    """
    path = os.fspath(path)
    if fcntl is None or (os.path.exists(path) and not os.path.isdir(path)):
        yield  # a file there: the store's own check names it
        return
    try:
        os.makedirs(path, exist_ok=True)
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield  # unwritable or unreadable: the store's own check names it
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder_pid(path)
            who = f"process {pid}" if pid else "another process"
            stop = f"stop it (Ctrl-C, or kill -INT {pid}: it stops cleanly)" if pid else "stop it (Ctrl-C)"
            raise ConfigError(f"{argument} = {path!r}: another sweep is running in this directory ({who}); "
                              f"wait for it to finish, or {stop} and run the same command again to continue "
                              "from what it committed; or use another directory") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
