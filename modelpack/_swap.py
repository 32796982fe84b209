"""Putting a finished model directory at its path, so that the path always holds a whole model.

A new path is one ``rename``. Replacing an existing model needs two names to change at once:

* On Linux, ``renameat2(RENAME_EXCHANGE)`` swaps the two directories in one atomic step; the
  temporary name then holds the old model, which is renamed ``.<name>.old-*`` and deleted. A
  crash leaves the new model at the path and, at worst, a leftover directory beside it: an
  ``.old-*`` is removed by the next save or recovery of the path, a ``.saving-*`` once it is a
  day old (a younger one may belong to a save in progress).
* Elsewhere (or where the filesystem refuses the exchange), the old model is renamed to
  ``.<name>.old-*``, the new one renamed into place, and the old one deleted. A crash between the
  two renames leaves no model at the path; :func:`recover` (called by the next save of the path,
  and by loads and ``verify`` through it) renames the newest complete ``.old-*`` back, with a
  warning.

Saved directories get the permissions the umask gives (``tempfile.mkdtemp`` makes them 0700):
:func:`apply_umask` is run on the temporary directory before it is moved into place.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from modelpack._crash import crash_point
from modelpack.exceptions import warn

__all__ = ["apply_umask", "current_umask", "move_into_place", "recover", "temp_dir_for"]

#: a complete model has its manifest: an ``.old-*`` directory without one is not restored
_MANIFEST = "MLmodel"
_SAVING = ".saving-"
_OLD = ".old-"
#: a temporary directory untouched this long belongs to a dead save and may be removed
_STALE_S = 24 * 3600.0
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def temp_dir_for(target: Path) -> Path:
    """A new empty directory beside ``target`` to write the model into."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}{_SAVING}", dir=target.parent))


# ---------------------------------------------------------------------- the swap
def _load_exchange() -> Callable[[Path, Path], bool] | None:
    """``renameat2(..., RENAME_EXCHANGE)`` when the C library has it (glibc >= 2.28)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return None
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int

    def exchange(a: Path, b: Path) -> bool:
        """Swap ``a`` and ``b``; False when the kernel or filesystem cannot."""
        result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
        if result == 0:
            return True
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            return False
        raise OSError(code, os.strerror(code), str(b))

    return exchange


#: None where the atomic exchange is unavailable (tests set it to None to exercise the fallback)
_exchange = _load_exchange()


def move_into_place(tmp: Path, target: Path) -> None:
    """Put the finished directory ``tmp`` at ``target``, replacing what is there."""
    recover(target)
    if not target.exists():
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
            # another save put a model there meanwhile: replace it as below
    exchange = _exchange if target.is_dir() and not target.is_symlink() else None
    if exchange is not None and exchange(tmp, target):
        crash_point("save-after-exchange")
        # ``tmp`` now names the old model: give it the name recover() cleans up, then delete it
        old = _old_name(target)
        os.rename(tmp, old)
        _remove(old)
        return
    _replace_in_two_steps(tmp, target)


def _replace_in_two_steps(tmp: Path, target: Path) -> None:
    """Old model aside, new one in, old one deleted; :func:`recover` undoes a crash halfway."""
    for _ in range(10):
        old = _old_name(target)
        os.rename(target, old)
        crash_point("save-between-renames")
        try:
            os.rename(tmp, target)
        except OSError as e:
            if target.exists() and e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                # a concurrent load restored the old model meanwhile: swap again
                _remove(old)
                continue
            if not target.exists():
                os.rename(old, target)
            raise
        crash_point("save-before-removing-old")
        _remove(old)
        return
    raise OSError(errno.EBUSY, "the model kept being replaced while saving", str(target))


def _old_name(target: Path) -> Path:
    """A free ``.<name>.old-*`` name beside ``target``."""
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD}", dir=target.parent))
    os.rmdir(old)
    return old


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()


# ---------------------------------------------------------------------- recovery
def _siblings(target: Path, marker: str) -> list[Path]:
    prefix = f".{target.name}{marker}"
    try:
        return [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def recover(target: str | os.PathLike[str]) -> bool:
    """Undo a save that died between its two renames; True when a model was put back.

    With no model at ``target`` and a complete ``.<name>.old-*`` beside it, the newest such
    directory is renamed back to ``target``. Leftovers of dead saves (``.old-*`` beside an
    existing model, and ``.saving-*`` untouched for a day, which a live save would have touched)
    are removed.
    """
    path = Path(target).absolute()
    restored = False
    if not os.path.lexists(path):
        candidates = [p for p in _siblings(path, _OLD) if (p / _MANIFEST).is_file()]
        for old in sorted(candidates, key=_mtime, reverse=True):
            try:
                os.rename(old, path)
            except OSError:
                continue  # another process restored it, or the model reappeared
            warn(
                f"{path} was missing after an interrupted save; the previous model was "
                f"restored from {old.name}"
            )
            restored = True
            break
    if path.is_dir():
        # beside a model, an .old-* is never needed again: a finished swap's leftover, or the
        # old model of a save running now, which deletes it itself
        for old in _siblings(path, _OLD):
            _remove(old)
    for tmp in _siblings(path, _SAVING):
        if time.time() - _mtime(tmp) > _STALE_S:
            _remove(tmp)
    return restored


# ---------------------------------------------------------------------- permissions
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # os.umask can only be read by setting it; the lock keeps our own threads from racing
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def apply_umask(root: Path) -> None:
    """Give ``root`` and everything below it the modes a plain ``mkdir``/``open`` would."""
    mask = current_umask()
    dir_mode, file_mode = 0o777 & ~mask, 0o666 & ~mask
    os.chmod(root, dir_mode)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            _chmod(os.path.join(dirpath, name), dir_mode, mask)
        for name in filenames:
            _chmod(os.path.join(dirpath, name), file_mode, mask)


def _chmod(path: str, mode: int, mask: int) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return  # chmod would change the link's target
    if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IXUSR:
        mode = 0o777 & ~mask  # keep scripts executable
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
