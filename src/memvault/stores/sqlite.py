"""The embedded SQLite store: WAL, BEGIN IMMEDIATE writes, FTS5 keyword index, vectors.

Uses `sqlean` (a drop-in `sqlite3` with a current SQLite) because erasure needs FTS5
`secure-delete` and `contentless_delete`, which the system SQLite (3.40) lacks.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlean as sqlite3

from ..errors import ConfigError, StoreError
from ..textindex import MATCH_BUDGET
from ..types import Memory
from .sqlite_tx import SqliteTx
from .sqlrows import COLUMNS, SELECT_COLS, from_row
from .vecindex import VectorIndex

_RETRIES = 20


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("memvault.stores.migrations") / "sqlite"
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(out)


def _is_busy(exc: Exception) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SqliteStore:
    def __init__(self, path: str, *, durable: bool = False, busy_timeout_ms: int = 10_000,
                 match_budget: int | None = MATCH_BUDGET):
        self.path = path
        self.in_memory = path == ":memory:"
        self.url = "sqlite://:memory:" if self.in_memory else f"sqlite:///{path}"
        self.durable = durable
        self.busy_timeout_ms = busy_timeout_ms
        self.index = VectorIndex()
        self.df_cache: dict[str, tuple[int, int]] = {}  # term -> (documents, changelog seq)
        self.match_budget = match_budget  # see textindex.plan_keyword_query (None: none)
        self._local = threading.local()
        self._conns: list[Any] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        if not self.in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.close()
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise ConfigError(f"{path} is not a memvault SQLite database ({exc}): point "
                                  "the vault at a new file or at an existing vault's "
                                  "database") from exc
            raise StoreError(f"cannot open the SQLite database {path}: {exc}") from exc

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> Any:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False,
            timeout=self.busy_timeout_ms / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        if not self.in_memory:
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _conn(self) -> Any:
        if self._closed:
            raise StoreError("the vault is closed")
        if self.in_memory:
            with self._conns_lock:
                shared = self._conns[0] if self._conns else None
            return shared or self._connect()
        holder = getattr(self._local, "holder", None)
        if holder is None:
            holder = self._local.holder = _ThreadConn(self, self._connect())
        return holder.conn

    def _release(self, conn: Any) -> None:
        """Close the connection of a thread that has ended."""
        with self._conns_lock:
            if not any(c is conn for c in self._conns):
                return  # already closed by close()
            self._conns = [c for c in self._conns if c is not conn]
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    def _retry(self, fn: Any) -> Any:
        for attempt in range(_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == _RETRIES - 1:
                    raise StoreError(f"database busy: {exc}") from exc
                time.sleep(min(0.5, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[SqliteTx]:
        with self._write_lock if self.in_memory else _nullcontext():
            conn = self._conn()
            self._retry(lambda: conn.execute("BEGIN"))
            try:
                yield SqliteTx(self, conn)
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[SqliteTx]:
        with self._write_lock:
            conn = self._conn()
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield SqliteTx(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                self._retry(lambda: conn.execute("COMMIT"))
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self.write() as tx:
            conn = tx.conn
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                         " (version INTEGER PRIMARY KEY)")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in _migrations():
                if version in done:
                    continue
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
            conn.execute("INSERT INTO memories_fts (memories_fts, rank)"
                         " VALUES ('secure-delete', 1)")

    def ensure_vocab(self, conn: Any) -> None:
        """The per-connection fts5vocab view used to look up document frequencies."""
        if getattr(self._local, "vocab_for", None) is not conn:
            conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab"
                         " USING fts5vocab(main, memories_fts, 'row')")
            self._local.vocab_for = conn

    # -- bulk helpers ------------------------------------------------------------------
    def iter_all(self, tenant: str | None = None) -> Iterator[Memory]:
        sql = f"SELECT {SELECT_COLS} FROM memories m"
        args: tuple[Any, ...] = ()
        if tenant is not None:
            sql += " WHERE m.tenant = ?"
            args = (tenant,)
        with self.read() as tx:
            rows = tx.conn.execute(sql + " ORDER BY m.rowid", args).fetchall()
        for row in rows:
            yield from_row(row)

    def reindex_candidates(self, model: str, limit: int) -> list[Memory]:
        sql = (
            f"SELECT {SELECT_COLS} FROM memories m LEFT JOIN vectors v ON v.memory_rowid = m.rowid"
            " WHERE m.content != '' AND m.status != 'deleted'"
            " AND (v.model IS NULL OR v.model != ?) ORDER BY m.rowid LIMIT ?"
        )
        with self.read() as tx:
            return [from_row(r) for r in tx.conn.execute(sql, (model, limit))]

    def checkpoint(self) -> None:
        if not self.in_memory:
            with self._write_lock:
                self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def scrub(self) -> dict[str, int]:
        """Leave no byte of erased content in the file: rewrite the keyword index (FTS5
        'optimize'), rebuild the file (VACUUM: cell slack that secure_delete does not
        reach goes too), then checkpoint the WAL to zero bytes. O(database size)."""
        with self._write_lock:
            conn = self._conn()
            before = self._size(conn)
            with self.write() as tx:
                tx.optimize_keyword_index()
            if not self.in_memory:
                self._retry(lambda: conn.execute("VACUUM"))
                self._retry(lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            return {"bytes_before": before, "bytes_after": self._size(conn)}

    @staticmethod
    def _size(conn: Any) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])

    def file_paths(self) -> list[str]:
        if self.in_memory:
            return []
        return [self.path, self.path + "-wal", self.path + "-shm"]

    def close(self) -> None:
        self.index.shutdown()  # stop a graph build: its native threads must not outlive us
        with self._conns_lock:
            conns, self._conns = self._conns, []
        self._closed = True
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


class _ThreadConn:
    """A thread's own connection, closed when the thread ends (its thread-local state is
    dropped), so worker threads that come and go, as in a server's thread pool, leave no
    open connections, file descriptors or page caches behind."""

    def __init__(self, store: SqliteStore, conn: Any) -> None:
        self._store = weakref.ref(store)
        self.conn = conn

    def __del__(self) -> None:
        store = self._store()
        if store is not None:
            store._release(self.conn)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _split_sql(script: str) -> list[str]:
    """Split a migration into complete statements (a trigger body's semicolons included)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete statement at the end of a migration: {current[:80]!r}")
    return [s.rstrip(";").strip() for s in out if s.strip(" \n;")]


__all__ = ["COLUMNS", "SqliteStore"]
