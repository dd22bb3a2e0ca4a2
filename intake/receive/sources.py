"""Where received mail is read from: Maildirs, mbox files, .eml files and folders of them."""

from __future__ import annotations

import hashlib
import logging
import mailbox
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from intake.errors import ReceiveError, UsageError

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # far above any package; a bigger file is not one of ours


@dataclass(frozen=True)
class Incoming:
    """One message as found, with a location that names it again on the next run.

    ``problem`` says why a message could not be read (too large, unreadable); it then
    has no data and stays where it is, to be tried again on the next run.
    """

    location: str  # "maildir:<folder>:<key>", "mbox:<file>:<sha256>:<n>" or "file:<path>"
    data: bytes = b""
    problem: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_sources(paths: Iterable[Path], /) -> Iterator[Incoming]:
    """Every message in ``paths``, in a stable order; sources are only read, never changed.

    A folder with ``cur/`` and ``new/`` is a Maildir; any other folder is read for its
    ``*.eml`` files; a file starting with ``From `` is an mbox, any other file one
    message. Raises UsageError for a path that does not exist, ReceiveError for a
    Maildir or mbox that cannot be read; a single unreadable message is reported in
    its Incoming instead.
    """
    for path in paths:
        path = Path(path).resolve()
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            yield from _maildir(path)
        elif path.is_dir():
            for file in sorted(path.glob("*.eml")):
                if file.is_file():
                    yield _file(file)
        elif path.is_file():
            yield from _mbox(path) if _is_mbox(path) else [_file(path)]
        else:
            raise UsageError(f"{path}: no such Maildir, mbox, .eml file or folder")


def _file(path: Path) -> Incoming:
    location = f"file:{path}"
    try:
        if path.stat().st_size > MAX_MESSAGE_BYTES:
            return Incoming(location, problem=_TOO_LARGE)
        return Incoming(location, path.read_bytes())
    except OSError as exc:  # this message's problem (permissions, gone): the others go on
        return Incoming(location, problem=f"cannot read: {exc.strerror}")


_TOO_LARGE = f"larger than {MAX_MESSAGE_BYTES >> 20} MiB: not a package"


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            return stream.read(5) == b"From "
    except OSError as exc:
        raise ReceiveError(f"{path}: cannot read: {exc.strerror}") from exc


def _maildir(path: Path) -> Iterator[Incoming]:
    # A Maildir key is the unique part of the file name: it survives a mail client
    # moving the message from new/ to cur/ or flagging it as read.
    box = mailbox.Maildir(path, factory=None, create=False)
    try:
        keys = sorted(box.keys())
    except OSError as exc:
        raise ReceiveError(f"{path}: cannot read the Maildir: {exc.strerror}") from exc
    for key in keys:
        location = f"maildir:{path}:{key}"
        try:
            if _size(box, key) > MAX_MESSAGE_BYTES:
                yield Incoming(location, problem=_TOO_LARGE)
                continue
            yield Incoming(location, box.get_bytes(key))
        except KeyError:  # removed by a mail client meanwhile
            continue
        except OSError as exc:
            yield Incoming(location, problem=f"cannot read: {exc.strerror}")


def _mbox(path: Path) -> Iterator[Incoming]:
    # mbox keys are positions, which shift when a message is deleted; the content hash
    # (and how many identical copies came before) names a message across runs instead.
    box = mailbox.mbox(path, factory=None, create=False)
    copies: Counter[str] = Counter()
    try:
        box.lock()
    except (mailbox.ExternalClashError, OSError):
        log.warning("%s is locked by another program; reading it anyway, unchanged", path)
    try:
        for key in list(box.iterkeys()):
            if _size(box, key) > MAX_MESSAGE_BYTES:
                yield Incoming(f"mbox:{path}:#{key}", problem=_TOO_LARGE)  # by position: it has no hash
                continue
            data = box.get_bytes(key)
            digest = hashlib.sha256(data).hexdigest()
            copies[digest] += 1
            yield Incoming(f"mbox:{path}:{digest}:{copies[digest]}", data)
    except OSError as exc:
        raise ReceiveError(f"{path}: cannot read the mbox: {exc.strerror}") from exc
    finally:
        box.unlock()
        box.close()


def _size(box: mailbox.Mailbox, key: str) -> int:
    """A message's size without reading it into memory."""
    with box.get_file(key) as stream:
        stream.seek(0, 2)
        return stream.tell()
