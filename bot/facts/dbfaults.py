"""Opening SQLite files so a fault is one clear line, never a traceback or a hung process.

A damaged, locked, read-only or full database raises `DatabaseFault`, whose message names the file,
the problem and what to do. `open_connection` closes the aiosqlite connection it opened when anything
after `connect` fails (its worker thread would otherwise keep the process alive forever) and retries
a lock held by another process for a bounded time. Nothing here ever deletes or rewrites a file to
"repair" it: the operator decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import inspect
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

#: How long one statement waits for another process's lock while the bot serves: below Discord's
#: 3 s interaction deadline, so a member hears "could not save" instead of "interaction failed".
RUNTIME_BUSY_SECONDS = 2.0
_RETRY_PAUSE = 0.2
T = TypeVar("T")


class DatabaseFault(Exception):
    """A database file cannot be used; `str()` is one line: the file, the problem, what to do."""


def is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def problem(exc: BaseException) -> str:
    """What went wrong, in words an operator acts on (no exception class names)."""
    text = str(exc).lower()
    code = exc.errno if isinstance(exc, OSError) else None
    if "not a database" in text:
        return "is not a SQLite database (damaged, or another kind of file)"
    if "malformed" in text or "corrupt" in text:
        return "is damaged (database disk image is malformed)"
    if is_locked(exc):
        return "is locked by another process"
    if "disk is full" in text or code == errno.ENOSPC:
        return "cannot be written: the disk is full"
    if "readonly" in text or "read-only" in text or code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "cannot be written (read-only file, folder or volume)"
    if "unable to open" in text or code == errno.ENOENT:
        return "cannot be opened (its folder is missing or not writable)"
    return f"cannot be used ({exc})"


def fault(what: str, path: Path, exc: BaseException, unchanged: str, *, after: str = "") -> DatabaseFault:
    """`<what> at <path> <problem>: <what to do>; <unchanged>` for `exc` (`what`: e.g. "moderation state")."""
    reason = problem(exc) + after
    if "not a SQLite database" in reason or "damaged" in reason:
        remedy = "restore your backup or move the file aside"
    elif "locked" in reason:
        remedy = "stop the other program holding it (a backup tool?) and start again"
    elif "disk is full" in reason:
        remedy = f"free space on the volume holding {path.parent}"
    elif "read-only" in reason or "cannot be opened" in reason:
        remedy = f"make {path.parent} writable by user {os.getuid()}"
    else:
        remedy = "check the file and its folder"
    return DatabaseFault(f"{what} at {path} {reason}: {remedy}; {unchanged}")


@contextlib.contextmanager
def reported(what: str, path: Path, unchanged: str) -> Iterator[None]:
    """Turn an SQLite or file-system error inside the block into a `DatabaseFault`."""
    try:
        yield
    except DatabaseFault:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise fault(what, path, exc, unchanged) from None


async def open_connection(
    path: Path,
    *,
    what: str,
    prepare: Callable[[aiosqlite.Connection], Awaitable[None]],
    lock_timeout: float,
    writable: bool = True,
    unchanged: str = "nothing was changed",
) -> aiosqlite.Connection:
    """Connect, run `prepare`, and return the connection; close it and raise `DatabaseFault` on failure.

    The file is checked first (`PRAGMA quick_check`), so damage beyond the header is found here. A
    lock held by another process is retried until `lock_timeout` seconds have passed. With
    `writable`, a write transaction is begun and rolled back, so a file that cannot take writes
    (locked, read-only, full) fails here, at start-up, rather than on a member's first report. The
    connection is left with `RUNTIME_BUSY_SECONDS` as its busy timeout. The fault's remedy ends with
    `unchanged` (the caller knows whether a failure could have changed anything).
    """
    deadline = time.monotonic() + max(0.0, lock_timeout)
    existed = path.exists()
    while True:
        conn: aiosqlite.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            wait = max(0.05, min(1.0, deadline - time.monotonic()))
            conn = await aiosqlite.connect(path, timeout=wait)
            await _quick_check(conn)
            await prepare(conn)
            if writable:
                await conn.execute("BEGIN IMMEDIATE")
                await conn.rollback()
            await conn.execute(f"PRAGMA busy_timeout = {int(RUNTIME_BUSY_SECONDS * 1000)}")
            return conn
        except (sqlite3.Error, OSError) as exc:
            await _close_quietly(conn)
            if is_locked(exc) and time.monotonic() < deadline:
                await asyncio.sleep(_RETRY_PAUSE)
                continue
            _remove_if_we_created_it(path, existed)
            after = f" (still locked after {lock_timeout:g} s)" if is_locked(exc) else ""
            raise fault(what, path, exc, unchanged, after=after) from None
        except BaseException:
            await _close_quietly(conn)
            _remove_if_we_created_it(path, existed)
            raise


async def _quick_check(conn: aiosqlite.Connection) -> None:
    """Damage past the header shows up now, not in the middle of a member's command."""
    async with conn.execute("PRAGMA quick_check(1)") as cursor:
        row = await cursor.fetchone()
    if row is not None and row[0] != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed ({row[0]})")


def _remove_if_we_created_it(path: Path, existed: bool) -> None:
    """An empty file this attempt created (on a full or read-only volume) is not state: leave no trace."""
    with contextlib.suppress(OSError):
        if not existed and path.stat().st_size == 0:
            path.unlink()


async def _close_quietly(conn: aiosqlite.Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()


def rollback_on_error(cls: type[T]) -> type[T]:
    """Class decorator: a public coroutine method that fails with an SQLite error rolls back first.

    A write that failed half-way (disk full at commit, a lock timeout after the first statement)
    would otherwise leave its transaction open, holding the write lock against every other process
    and committing later with whatever write comes next. The error itself is re-raised for the
    caller to report.
    """
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _rolling_back(method))
    return cls


def _rolling_back(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except sqlite3.Error:
            conn = getattr(self, "_conn", None)
            if isinstance(conn, aiosqlite.Connection) and conn.in_transaction:
                with contextlib.suppress(Exception):
                    await conn.rollback()
            raise

    return wrapper
