"""Output that user code and the environment cannot take over.

* :class:`SafeStream` wraps stdout/stderr: a closed pipe (``convcost check | head -1``) ends the
  output quietly and the run keeps the exit code its work earned; a character the stream's
  encoding cannot show (``PYTHONIOENCODING=ascii``) is replaced, never an error; any other
  write failure (a full disk) is one line, exit 2.
* :func:`clean_text` replaces control characters of the data (terminal escape sequences in a
  layer name, a NUL in a check name) so that no output -- terminal, Markdown, CSV, JUnit XML --
  carries them raw. JSON escapes them itself.
* :func:`user_code` sends everything the model prints to stderr while it runs, so that stdout
  holds only convcost's data (``--format json`` stays JSON).
* :func:`write_file` writes a file atomically (a temporary file in the same directory, fsync,
  rename): a kill or a full disk leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from convcost.errors import Context, InputError

_closed: set[int] = set()
_protected: dict[str, str] = {}
"""Real paths of the run's input files (registered by refuse_overwrite) -> what they are:
write_file never writes over one."""

_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]"
    "|\r(?!\n)"
)
REPLACEMENT = "?"


def reset() -> None:
    """A new command: no input registered yet."""
    _protected.clear()


def clean_text(text: str) -> str:
    """``text`` with control characters (except tab and line ends) replaced by ``?``; the same
    object when there is nothing to replace."""
    if text.isprintable():  # every character _CONTROL matches is unprintable (a test holds it)
        return text
    return _CONTROL.sub(REPLACEMENT, text) if _CONTROL.search(text) else text


def stdout_closed() -> bool:
    """True once a write to stdout found the pipe closed."""
    return 1 in _closed


class SafeStream:
    """A text stream that survives a closed pipe and a narrow encoding."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _fd(self) -> int:
        try:
            return self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return -1 - id(self._stream)

    def write(self, text: str) -> int:
        if self._fd() in _closed:
            return len(text)
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                enc = getattr(self._stream, "encoding", None) or "ascii"
                return self._stream.write(text.encode(enc, "replace").decode(enc, "replace"))
        except OSError as e:
            self._failed(e)
        return len(text)

    def flush(self) -> None:
        if self._fd() in _closed:
            return
        try:
            self._stream.flush()
        except OSError as e:
            self._failed(e)

    def _failed(self, e: OSError) -> None:
        fd = self._fd()
        if isinstance(e, BrokenPipeError) or e.errno in (errno.EPIPE, errno.EINVAL):
            _closed.add(fd)
            if fd >= 0:  # the interpreter's last flush at exit must not fail again
                with contextlib.suppress(OSError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, fd)
                    os.close(devnull)
            return
        _closed.add(fd)
        raise InputError(f"cannot write the output: {e.strerror or e}")


@contextlib.contextmanager
def user_code() -> Iterator[None]:
    """While the model's own code runs, what it prints goes to stderr (Python prints and, for
    a real stdout, writes to file descriptor 1 too)."""
    saved_fd = -1
    try:
        sys.stdout.flush()
        if sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2:
            saved_fd = os.dup(1)
            os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):
        saved_fd = -1
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        if saved_fd >= 0:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def refuse_overwrite(path: str | Path, inputs: Mapping[str, str | None], flag: str) -> None:
    """An output path that names one of the run's input files is refused (exit 2)."""
    for what, given in inputs.items():
        if not given:
            continue
        _protected.setdefault(os.path.realpath(given), what)
        if same_file(path, given):
            raise InputError(f"{path} is the {what}; writing there would overwrite it",
                             Context(flag=flag))


def write_file(path: Path, text: str, flag: str) -> None:
    """Write ``text`` (control characters replaced) to ``path`` atomically."""
    data = clean_text(text).encode("utf-8")
    what = _protected.get(os.path.realpath(path))
    if what is not None:
        raise InputError(f"{path} is the {what}; writing there would overwrite it",
                         Context(flag=flag))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        import tempfile  # only when a file is written (it pulls in random, shutil)

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        with contextlib.suppress(OSError):  # the rename itself reaches the disk
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}", Context(flag=flag)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
