"""The PostgreSQL + pgvector store: the path past one machine.

Same `Store` protocol and semantics as the SQLite store (see docs/postgres.md):

- psycopg 3 with a `psycopg_pool.ConnectionPool`; connections run in autocommit mode and
  every transaction is an explicit BEGIN ... COMMIT, with no session state beyond the
  transaction (SET LOCAL / set_config(..., true), no server-side prepared statements), so
  PgBouncer in transaction mode works.
- `read()` is one REPEATABLE READ READ ONLY transaction (one snapshot for a whole search);
  `write()` is one READ COMMITTED transaction that first locks the audit head row
  (SELECT ... FOR UPDATE): writers are serial across every process, as in SQLite, so the
  audit hash chain stays linear and reconciliation (dedupe, supersession) cannot race.
- Numbered migrations from `migrations/postgres/NNNN_*.sql`, each in its own transaction
  under `pg_advisory_xact_lock`, so several servers may start at once.
- Vectors live in an untyped `vector` column with one partial HNSW index (cosine) per
  (model, dimension) on `vec::vector(dim)`, created on the first write of that model.

URL query parameters understood here (removed before connecting):
`pool_min_size` (1), `pool_max_size` (10), `pool_timeout` (seconds, 30);
`ef_search` (HNSW candidate list, 1000: recall at 1M rows, see docs/scaling.md); `hnsw_m`
(16) and `hnsw_ef_construction` (64) for indexes created from then on; `exact_below` (0:
the planner chooses between the HNSW index and an exact scan of the filtered rows; N > 0:
count the filtered rows first, up to N, and search them exactly when fewer);
`keyword_budget` (5000: candidates a broad keyword search ranks, see docs/postgres.md);
`vacuum_on_erase` (0: dead row versions are left to autovacuum, tuned per table in the
migration; 1: VACUUM the content tables after every erasure, O(table size), for small
databases).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.types import TypeInfo
from psycopg_pool import ConnectionPool

from ..errors import ConfigError, MemvaultError, StoreError
from ..types import Memory
from .pgrows import SELECT_COLS, from_pg_row, index_name
from .pgsearch import KEYWORD_BUDGET
from .postgres_tx import PgTx

_log = logging.getLogger("memvault.postgres")
COMMON_DF = 1_000  # the floor of textindex.plan_keyword_query's cutoff
_MIGRATION_LOCK = 0x6D656D7661756C74  # "memvault"
_OPTIONS = {"pool_min_size": 1, "pool_max_size": 10, "pool_timeout": 30, "ef_search": 1000,
            "exact_below": 0, "hnsw_m": 16, "hnsw_ef_construction": 64,
            "vacuum_on_erase": 0, "keyword_budget": KEYWORD_BUDGET}


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("memvault.stores.migrations") / "postgres"
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(out)


def split_url(url: str) -> tuple[str, dict[str, int]]:
    """The connection URL without memvault's own query parameters (the others are kept
    verbatim, encoding included), and those parameters."""
    parts = urlsplit(url)
    keep, opts = [], dict(_OPTIONS)
    for piece in parts.query.split("&") if parts.query else []:
        name, _, raw = piece.partition("=")
        if unquote(name) not in _OPTIONS:
            keep.append(piece)
            continue
        try:
            opts[unquote(name)] = int(unquote(raw))
        except ValueError as exc:
            raise ConfigError(f"URL parameter {name} must be an integer, got {raw!r}") from exc
    return urlunsplit(parts._replace(query="&".join(keep))), opts


class PostgresStore:
    def __init__(self, url: str, settings: Any = None) -> None:
        self.url = url
        self.conninfo, opts = split_url(url)
        self.ef_search = opts["ef_search"]
        self.exact_below = opts["exact_below"]
        self.keyword_budget = opts["keyword_budget"]
        self.hnsw_m = opts["hnsw_m"]
        self.hnsw_ef_construction = opts["hnsw_ef_construction"]
        self.vacuum_on_erase = bool(opts["vacuum_on_erase"])
        # a writer waits this long for the writer lock, then gets StoreError (HTTP 503)
        self.lock_timeout_ms = int(getattr(settings, "busy_timeout_ms", 10_000))
        self._models: set[tuple[str, int]] = set()
        self._models_lock = threading.Lock()
        self.common_df = COMMON_DF
        self._rows: tuple[float, float] = (-1e9, 0.0)  # (when, estimated memories rows)
        self._closed = False
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                self._migrate(conn)
                self._vector_info = TypeInfo.fetch(conn, "vector")
                self._analyze_if_never(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open PostgreSQL store: {exc}") from exc
        if self._vector_info is None:
            raise StoreError("the pgvector extension is missing from this database")
        self.pool = ConnectionPool(
            self.conninfo, min_size=opts["pool_min_size"], max_size=opts["pool_max_size"],
            timeout=opts["pool_timeout"], configure=self._configure, open=False,
            kwargs={"autocommit": True, "prepare_threshold": None},
            check=ConnectionPool.check_connection, name="memvault",
        )
        self.pool.open(wait=True, timeout=opts["pool_timeout"])

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        from pgvector.psycopg import register_vector

        register_vector(conn)  # numpy arrays <-> vector, binary
        conn.execute("SET TIME ZONE 'UTC'")

    # -- migrations --------------------------------------------------------------------
    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version integer PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
        for version, script in _migrations():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s",
                                    (version,)).fetchone()
                if done:
                    continue
                conn.execute(script.encode())
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    def table_rows(self, conn: psycopg.Connection[Any]) -> float:
        """The planner's and the statistics collector's row count of `memories` (no scan,
        no RLS involved), refreshed once a minute."""
        at, rows = self._rows
        if time.monotonic() - at < 60:
            return rows
        row = conn.execute(
            "SELECT greatest(c.reltuples, s.n_live_tup) FROM pg_class c"
            " JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid = 'memories'::regclass").fetchone()
        rows = float(row[0]) if row and row[0] is not None else 0.0
        self._rows = (time.monotonic(), rows)
        return rows

    def _analyze_if_never(self, conn: psycopg.Connection[Any]) -> None:
        """ANALYZE tables that hold rows but were never analyzed (a bulk load, a restore):
        without statistics the planner can pick nested loops that are orders of magnitude
        slower. Autovacuum analyzes them too, but only on its next round."""
        rows = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname IN ('memories', 'vectors')"
            " AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0"
        ).fetchall()
        for (table,) in rows:
            try:
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            except psycopg.Error as exc:  # not the owner: autovacuum will do it
                _log.warning("could not ANALYZE %s: %s", table, exc)

    def analyze(self) -> None:
        """Refresh planner statistics (after a bulk load, e.g. `memvault migrate`)."""
        with self.pool.connection() as conn:
            conn.execute("ANALYZE memories, vectors, history")

    def ensure_vector_index(self, tx: PgTx, model: str, dim: int) -> None:
        """One partial HNSW (cosine) index per (model, dim), made on its first vector.

        Runs inside the caller's write transaction, which already holds the writer lock,
        so two processes cannot race to create it; the build is instant for a new model
        (the partial index starts empty) and maintained by every later insert."""
        if (model, dim) in self._models:
            return
        name = index_name(model, dim)
        known = tx.conn.execute("SELECT 1 FROM vector_models WHERE model = %s AND dim = %s",
                                (model, dim)).fetchone()
        if not known:
            tx.conn.execute(sql.SQL(
                "CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw"
                " ((vec::vector({dim})) vector_cosine_ops) WITH (m = {m}, ef_construction = {ef})"
                " WHERE model = {model} AND dim = {dim}"
            ).format(name=sql.Identifier(name), dim=sql.Literal(dim), m=sql.Literal(self.hnsw_m),
                     ef=sql.Literal(self.hnsw_ef_construction), model=sql.Literal(model)))
            tx.conn.execute("INSERT INTO vector_models (model, dim, index_name)"
                            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (model, dim, name))
            # the index exists only once this transaction commits
            return
        with self._models_lock:
            self._models.add((model, dim))

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def _transaction(self, begin: str, writable: bool) -> Iterator[PgTx]:
        if self._closed:
            raise StoreError("the vault is closed")
        try:
            with self.pool.connection() as conn:
                conn.execute(begin)
                try:
                    tx = PgTx(self, conn, writable)
                    if writable:
                        tx.lock_writer()
                    yield tx
                except BaseException:
                    try:
                        conn.execute("ROLLBACK")
                    except psycopg.Error:  # a broken connection: the pool discards it
                        pass
                    raise
                conn.execute("COMMIT")
        except MemvaultError:
            raise
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreError(f"database busy: no turn to write within "
                             f"{self.lock_timeout_ms} ms") from exc
        except psycopg.Error as exc:  # includes psycopg_pool.PoolTimeout
            raise StoreError(f"PostgreSQL error: {exc}") from exc

    def read(self) -> Any:
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", False)

    def write(self) -> Any:
        return self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED;"
                                 f" SET LOCAL lock_timeout = {self.lock_timeout_ms}", True)

    # -- bulk helpers ------------------------------------------------------------------
    def iter_all(self, tenant: str | None = None) -> Iterator[Memory]:
        """Every memory (of one tenant, or all: the RLS bypass), in insertion order."""
        after = 0
        while True:
            with self.read() as tx:
                if tenant is None:
                    tx.as_admin()
                else:
                    tx.as_tenant(tenant)
                q = f"SELECT m.seq, {SELECT_COLS} FROM memories m WHERE m.seq > %s"
                args: list[Any] = [after]
                if tenant is not None:
                    q += " AND m.tenant = %s"
                    args.append(tenant)
                rows = tx.conn.execute(q + " ORDER BY m.seq LIMIT 1000", args).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for row in rows:
                yield from_pg_row(row[1:])

    def reindex_candidates(self, model: str, limit: int) -> list[Memory]:
        q = (f"SELECT {SELECT_COLS} FROM memories m LEFT JOIN vectors v ON v.memory_id = m.id"
             " WHERE m.content <> '' AND m.status <> 'deleted'"
             " AND (v.model IS NULL OR v.model <> %s) ORDER BY m.seq LIMIT %s")
        with self.read() as tx:
            tx.as_admin()
            return [from_pg_row(r) for r in tx.conn.execute(q, (model, limit))]

    def checkpoint(self) -> None:
        """Called after an erasure. With `vacuum_on_erase=1`, VACUUM the tables that held
        the erased content so its dead row versions are pruned now rather than by
        autovacuum (see docs/postgres.md for what VACUUM does and does not remove)."""
        if self._closed or not self.vacuum_on_erase:
            return
        try:
            with self.pool.connection() as conn:
                # INDEX_CLEANUP ON: without it PostgreSQL may skip the index pass when few
                # pages hold dead rows, leaving erased vectors in the HNSW index
                conn.execute("VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON) memories, keyword_index,"
                             " history, vectors")
        except psycopg.Error as exc:  # the erasure itself is committed; autovacuum follows
            _log.warning("VACUUM after erasure failed (autovacuum will prune): %s", exc)

    def ledger_entries(self) -> list[dict[str, Any]]:
        """The erasure ledger (ids and hashes, never content) in the entry format of
        `memvault.backup.read_ledger`: take it from the live database before restoring a
        backup, then give it to `memvault.backup.reapply_erasures` on the restored one."""
        import json

        with self.read() as tx:
            rows = tx.conn.execute(
                "SELECT r.id, r.at, r.tenant, r.subject_hash, r.receipt, e.memory_id"
                " FROM erasures r JOIN erased_ids e ON e.erasure_id = r.id"
                " ORDER BY r.at, r.id, e.memory_id").fetchall()
        entries: dict[str, dict[str, Any]] = {}
        for rid, at, tenant, subject_hash, receipt, mid in rows:
            entry = entries.setdefault(rid, {
                "erasure_id": rid, "at": at, "tenant": tenant, "subject_hash": subject_hash,
                "receipt_hash": json.loads(receipt).get("hash", ""), "ids": []})
            entry["ids"].append(mid)
        return list(entries.values())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.pool.close()


__all__ = ["PostgresStore", "split_url"]
