"""Writing files the way provisioning needs: atomic, idempotent, secrets never exposed.

Every write goes to a temporary file created with its final mode (so a secret
is 0600 from its first byte, never world-readable for an instant), is fsynced
and renamed over the target. A file whose bytes, mode and owner are already
right is not touched at all, which is what makes re-running an installer a
no-op.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644

Owner = tuple[int, int]


def _same_owner(st: os.stat_result, owner: Owner | None) -> bool:
    return owner is None or (st.st_uid, st.st_gid) == owner


def write_file(path: Path, data: bytes, mode: int, *, owner: Owner | None = None) -> bool:
    """Make ``path`` hold ``data`` with ``mode`` (and ``owner``); True if anything changed."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        same_bytes = st.st_size == len(data) and path.read_bytes() == data
        if same_bytes:
            changed = False
            if owner is not None and not _same_owner(st, owner):
                os.chown(path, *owner)
                changed = True
            if stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)
                changed = True
            return changed
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask must not loosen or tighten it
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return True


def ensure_dir(path: Path, mode: int, *, owner: Owner | None = None) -> bool:
    """Make ``path`` a directory with ``mode`` (and ``owner``); True if anything changed."""
    changed = False
    if not path.is_dir():
        path.mkdir(parents=True, mode=mode)
        changed = True
    st = path.stat()
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
        changed = True
    if owner is not None and not _same_owner(st, owner):
        os.chown(path, *owner)
        changed = True
    return changed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
