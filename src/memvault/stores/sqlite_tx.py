"""One SQLite transaction: the reads and writes the vault composes inside it."""

from __future__ import annotations

import builtins
import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util import aware, canonical_json, from_iso, now, to_iso
from ..audit import GENESIS, chain_hash
from ..errors import Conflict, InvalidInput, NotFound
from ..textindex import (
    ALL_TOKEN,
    index_text,
    plan_keyword_query,
    tenant_token,
    user_token,
)
from ..types import AuditEvent, HistoryEntry, Memory, Scope
from .ann import AnnFiles
from .ann import drop_files as drop_ann_files
from .base import Filters, ListQuery, QueryVector, StoredVector, resolve
from .sqlrows import COLUMNS, SELECT_COLS, from_row, scope_clause, to_row
from .vecindex import IndexRow

if TYPE_CHECKING:
    from .sqlite import SqliteStore

_INSERT = (
    f"INSERT INTO memories ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_UPDATE = (
    f"UPDATE memories SET {', '.join(f'{c} = ?' for c in COLUMNS[1:])} WHERE id = ? AND version = ?"
)
_FULL_RELOAD_AT = 50_000
RECHECK_SPARE = 10  # vector candidates beyond the limit, for rows the re-check drops


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _epoch(at: datetime | None, widen: float) -> float | None:
    """Unix time for an index mask, widened by `widen` s: the index holds event times
    rounded to the millisecond, and SQL re-checks the exact bound on every row found."""
    return None if at is None else aware(at).timestamp() + widen


def _in(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def filter_clause(scope: Scope, f: Filters, at: datetime | None = None,
                  by_id: bool = False) -> tuple[str, builtins.list[Any]]:
    """Filters beyond scope. `at` is "now" for expiry; as_of replaces status rules.
    `by_id`: rows are already narrowed by id; keep the planner off the status index."""
    parts: builtins.list[str] = []
    st = "+m.status" if by_id else "m.status"
    args: builtins.list[Any] = []
    if f.as_of is not None:
        t = to_iso(f.as_of)
        parts.append("m.status IN ('active', 'superseded', 'expired')")
        parts.append("COALESCE(m.valid_from, m.created_at) <= ?")
        parts.append("(m.valid_to IS NULL OR m.valid_to > ?)")
        args += [t, t]
    else:
        parts.append(f"{st} IN ({_in(f.statuses)})")
        args += list(f.statuses)
        if "active" in f.statuses and at is not None:
            parts.append("(m.expires_at IS NULL OR m.expires_at > ? OR m.status != 'active')")
            args.append(to_iso(at))
    for col, values in (("kind", f.kinds), ("source", f.sources), ("id", f.ids)):
        if values:
            parts.append(f"m.{col} IN ({_in(values)})")
            args += list(values)
    for col, value in (("key", f.key), ("session_id", f.session_id)):
        if value is not None:
            parts.append(f"m.{col} = ?")
            args.append(value)
    if f.user_only and scope.user_id is not None:
        parts.append("m.user_id = ?")
        args.append(scope.user_id)
    if f.tags_any:
        parts.append(f"EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value IN ({_in(f.tags_any)}))")
        args += list(f.tags_any)
    for tag in f.tags_all:
        parts.append("EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)")
        args.append(tag)
    for k, v in f.metadata.items():
        path = '$."' + k.replace('"', '\\"') + '"'
        if isinstance(v, dict | list):
            parts.append("json_extract(m.metadata, ?) = json(?)")
            args += [path, canonical_json(v)]
        else:
            parts.append("json_extract(m.metadata, ?) IS ?")
            args += [path, int(v) if isinstance(v, bool) else v]
    if f.since is not None:
        parts.append("COALESCE(m.valid_from, m.created_at) >= ?")
        args.append(to_iso(f.since))
    if f.until is not None:
        parts.append("COALESCE(m.valid_from, m.created_at) < ?")
        args.append(to_iso(f.until))
    return " AND ".join(parts), args


class SqliteTx:
    def __init__(self, store: SqliteStore, conn: Any) -> None:
        self.store = store
        self.conn = conn

    # -- reads -------------------------------------------------------------------------
    def _select(self, scope: Scope, where: str, args: Sequence[Any], tail: str = "",
                by_id: bool = False) -> builtins.list[Memory]:
        scope_sql, scope_args = scope_clause(scope, by_id=by_id)
        sql = f"SELECT {SELECT_COLS} FROM memories m WHERE {scope_sql} AND {where} {tail}"
        return [from_row(r) for r in self.conn.execute(sql, [*scope_args, *args])]

    def get(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Memory]:
        if not ids:
            return []
        found = {m.id: m for m in self._select(scope, f"m.id IN ({_in(ids)})", list(ids),
                                               by_id=True)}
        return [found[i] for i in ids if i in found]

    def list(self, scope: Scope, query: ListQuery) -> tuple[builtins.list[Memory], str | None]:
        where, args = filter_clause(scope, query.filters, now())
        desc = query.order != "asc"
        if query.cursor:
            where += f" AND m.id {'<' if desc else '>'} ?"
            args.append(query.cursor)
        tail = f"ORDER BY m.id {'DESC' if desc else 'ASC'} LIMIT {int(query.limit) + 1}"
        rows = self._select(scope, where, args, tail)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return rows, (rows[-1].id if more and rows else None)

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEntry]:
        if not self.get(scope, [memory_id]):
            raise NotFound(f"no memory {memory_id!r} in this scope")
        rows = self.conn.execute(
            "SELECT memory_id, version, action, actor, at, reason, before, after FROM history"
            " WHERE memory_id = ? ORDER BY seq", (memory_id,),
        ).fetchall()
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], from_iso(r[4]), r[5],  # type: ignore[arg-type]
                         json.loads(r[6]) if r[6] else None, json.loads(r[7]) if r[7] else None)
            for r in rows
        ]

    def _exact_scope(self, scope: Scope) -> tuple[str, builtins.list[Any]]:
        return ("m.tenant = ? AND m.user_id IS ? AND m.agent_id IS ?",
                [scope.tenant, scope.user_id, scope.agent_id])

    def find_by_key(self, scope: Scope, key: str) -> builtins.list[Memory]:
        where, args = self._exact_scope(scope)
        sql = (f"SELECT {SELECT_COLS} FROM memories m WHERE {where} AND m.key = ?"
               " AND m.status = 'active'")
        return [from_row(r) for r in self.conn.execute(sql, [*args, key])]

    def superseded_sources(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        scope_sql, scope_args = scope_clause(scope)
        # CROSS JOIN: SQLite then starts from the few cited rows, never the scope index
        sql = ("SELECT s.source_id, m.status FROM memory_sources s"
               " CROSS JOIN memories m ON m.rowid = s.memory_rowid"
               f" WHERE s.source_id IN ({_in(ids)}) AND {scope_sql}"
               " AND m.status IN ('superseded', 'active')")
        cited: dict[str, set[str]] = {"superseded": set(), "active": set()}
        for source_id, status in self.conn.execute(sql, [*ids, *scope_args]):
            cited[status].add(source_id)
        # stale: evidence only for superseded values, not also for a current one
        return cited["superseded"] - cited["active"]

    def find_by_hash(self, scope: Scope, content_hash: str, kind: str) -> builtins.list[Memory]:
        where, args = self._exact_scope(scope)
        sql = (f"SELECT {SELECT_COLS} FROM memories m WHERE {where} AND m.content_hash = ?"
               " AND m.kind = ? AND m.status IN ('active', 'pending')")
        return [from_row(r) for r in self.conn.execute(sql, [*args, content_hash, kind])]

    def keyword_search(self, scope: Scope, terms: Sequence[str], filters: Filters,
                       limit: int) -> builtins.list[tuple[str, float]]:
        """BM25 over the FTS5 index with a bounded cost (see textindex.plan_keyword_query);
        rows are joined back for the scope rule and the remaining filters."""
        if scope.user_id is not None:
            tokens = [user_token(scope.tenant, scope.user_id), user_token(scope.tenant, None)]
        else:
            tokens = [tenant_token(scope.tenant)]
        df = self._doc_freqs([*terms, *tokens, ALL_TOKEN])
        widen = 2 if filters.needs_sql_prefilter or filters.kinds else 1
        plan = plan_keyword_query(list(terms), df, df[ALL_TOKEN], sum(df[t] for t in tokens),
                                  limit * widen, self.store.match_budget)
        if not plan.terms:
            return []
        match = "(" + " OR ".join(_quote(t) for t in plan.terms) + ")"
        if plan.use_scope_tokens:
            match += " AND (" + " OR ".join(_quote(t) for t in tokens) + ")"
        scope_sql, scope_args = scope_clause(scope, by_id=True)
        where, args = filter_clause(scope, filters, now(), by_id=True)
        sql = (
            "SELECT m.id, f.s FROM (SELECT rowid, bm25(memories_fts) AS s FROM memories_fts"
            " WHERE memories_fts MATCH ? ORDER BY s LIMIT ?) f"
            f" JOIN memories m ON m.rowid = f.rowid WHERE {scope_sql} AND {where}"
            " ORDER BY f.s LIMIT ?"
        )
        rows = self.conn.execute(sql, [match, plan.inner_limit, *scope_args, *args,
                                       limit]).fetchall()
        return [(r[0], -float(r[1])) for r in rows]

    def _doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Document frequencies for the keyword plan. fts5vocab counts a term's documents
        by reading its whole posting list (100k entries for a scope token at 100k
        memories), so counts are cached per store and recounted once the store has
        changed by more than a tenth of the count (the plan only needs magnitudes)."""
        self.store.ensure_vocab(self.conn)
        seq = self.conn.execute("SELECT max(seq) FROM changelog").fetchone()[0] or 0
        cache = self.store.df_cache
        out: dict[str, int] = {}
        for t in terms:
            hit = cache.get(t)
            if hit is None or abs(seq - hit[1]) > max(50, hit[0] // 10):
                row = self.conn.execute("SELECT doc FROM temp.fts_vocab WHERE term = ?",
                                        (t,)).fetchone()
                hit = cache[t] = ((row or (0,))[0], seq)
            out[t] = hit[0]
        if len(cache) > 50_000:
            cache.clear()
        return out

    def vector_search(self, scope: Scope, vector: QueryVector, model: str, filters: Filters,
                      limit: int) -> builtins.list[tuple[str, float]]:
        """Cosine top-`limit` from the in-memory index. The scope mask (and the rows of a
        selective one) are prepared before `vector` is resolved, so a query still being
        embedded elsewhere overlaps them."""
        index = self.store.index
        with index.lock:
            self._sync_index(model)
            if filters.as_of is not None:
                statuses: Sequence[str] = ("active", "superseded", "expired")
            else:
                statuses = filters.statuses
            # since/until are masks over the index's event-time column; the rest of the
            # filters that the index does not hold need the rows from SQL
            mask = index.mask(scope, filters.kinds, statuses, filters.user_only,
                              _epoch(filters.since, -0.002), _epoch(filters.until, 0.002))
            rest = dataclasses.replace(filters, since=None, until=None)
            if mask is not None and rest.needs_sql_prefilter:
                mask &= self._allowed_mask(scope, filters)
            plan = index.plan(model, mask, limit + RECHECK_SPARE)
        query = resolve(vector)
        if plan is None:
            return []
        found = index.run(plan, query)
        # the cache is rarely stale (expired rows not yet swept, rows changed since the
        # last sync): re-check the best `limit`, the spare ones only if one failed
        ok = self._recheck(scope, filters, found[:limit])
        if len(ok) < limit and len(found) > limit:
            ok += self._recheck(scope, filters, found[limit:])
        return ok[:limit]

    def _allowed_mask(self, scope: Scope, filters: Filters) -> np.ndarray:
        index = self.store.index
        scope_sql, scope_args = scope_clause(scope)
        where, args = filter_clause(scope, filters, now())
        sql = f"SELECT m.rowid FROM memories m WHERE {scope_sql} AND {where}"
        allowed = np.zeros(index.n, dtype=bool)
        for (rowid,) in self.conn.execute(sql, [*scope_args, *args]):
            p = index.pos.get(rowid)
            if p is not None:
                allowed[p] = True
        return allowed

    def _recheck(self, scope: Scope, filters: Filters,
                 found: builtins.list[tuple[str, float]]) -> builtins.list[tuple[str, float]]:
        """The store's scope rule re-applied to every id the cache returned."""
        if not found:
            return []
        ids = [i for i, _ in found]
        scope_sql, scope_args = scope_clause(scope, by_id=True)
        where, args = filter_clause(scope, filters, now(), by_id=True)
        sql = f"SELECT m.id FROM memories m WHERE m.id IN ({_in(ids)}) AND {scope_sql} AND {where}"
        ok = {r[0] for r in self.conn.execute(sql, [*ids, *scope_args, *args])}
        return [(i, s) for i, s in found if i in ok]

    def _sync_index(self, model: str) -> None:
        index = self.store.index
        if index.model not in (None, model):
            index.reset()
        # two queries: SQLite answers a lone min() or max() from the b-tree edge
        hi = self.conn.execute("SELECT max(seq) FROM changelog").fetchone()[0] or 0
        if hi <= index.last_seq:
            return
        lo = self.conn.execute("SELECT min(seq) FROM changelog").fetchone()[0] or 0
        # a reload drops the approximate graph: with one, catch up row by row instead
        full = (index.last_seq == 0 or lo > index.last_seq + 1
                or (hi - index.last_seq > _FULL_RELOAD_AT and index.ann is None))
        sql = ("SELECT m.rowid, m.id, m.tenant, m.user_id, m.agent_id, m.kind, m.status, v.model,"
               " v.vec, unixepoch(COALESCE(m.valid_from, m.created_at), 'subsec')"
               " FROM memories m LEFT JOIN vectors v ON v.memory_rowid = m.rowid")
        if full:
            index.reset()
            expect = self.conn.execute("SELECT max(rowid) FROM memories").fetchone()[0] or 0
            index.bulk_load(self.conn.execute(sql), model, expect)
        else:
            sql += " WHERE m.rowid IN (SELECT memory_rowid FROM changelog WHERE seq > ?)"
            index.model = index.model or model
            index.upsert(IndexRow(*r) for r in self.conn.execute(sql, [index.last_seq]))
        index.last_seq = hi
        index.after_sync(None if self.store.in_memory else AnnFiles(self.store))

    def vectors_for(self, ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        sql = (f"SELECT m.id, v.vec FROM memories m JOIN vectors v ON v.memory_rowid = m.rowid"
               f" WHERE m.id IN ({_in(ids)}) AND v.model = ?")
        return {r[0]: np.frombuffer(r[1], dtype=np.float32)
                for r in self.conn.execute(sql, [*ids, model])}

    def audit_events(self, tenant: str | None, after_seq: int = 0,
                     limit: int = 1000) -> builtins.list[AuditEvent]:
        sql = ("SELECT seq, at, tenant, actor, action, target_ids, details, prev_hash, hash"
               " FROM audit WHERE seq > ?")
        args: builtins.list[Any] = [after_seq]
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        return [
            AuditEvent(r[0], from_iso(r[1]), r[2], r[3], r[4],  # type: ignore[arg-type]
                       tuple(json.loads(r[5])), json.loads(r[6]), r[7], r[8])
            for r in self.conn.execute(sql, args)
        ]

    def audit_head(self) -> tuple[int, str]:
        row = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def stats(self, tenant: str) -> dict[str, Any]:
        q = self.conn.execute
        by = {
            col: dict(q(f"SELECT {col}, count(*) FROM memories WHERE tenant = ? GROUP BY {col}",
                        (tenant,)).fetchall())
            for col in ("kind", "status")
        }
        users = q("SELECT COALESCE(user_id, ''), count(*) FROM memories WHERE tenant = ?"
                  " AND status != 'deleted' GROUP BY user_id ORDER BY 2 DESC LIMIT 50",
                  (tenant,)).fetchall()
        days = q("SELECT substr(created_at, 1, 10), count(*) FROM memories WHERE tenant = ?"
                 " GROUP BY 1 ORDER BY 1 DESC LIMIT 60", (tenant,)).fetchall()
        page = q("PRAGMA page_count").fetchone()[0] * q("PRAGMA page_size").fetchone()[0]
        return {"by_kind": by["kind"], "by_status": by["status"], "by_user": dict(users),
                "per_day": dict(sorted(days)), "storage_bytes": page,
                "pending": by["status"].get("pending", 0)}

    # -- writes ------------------------------------------------------------------------
    def _log_change(self, rowid: int) -> None:
        self.conn.execute("INSERT INTO changelog (memory_rowid) VALUES (?)", (rowid,))

    def _rowid(self, memory_id: str) -> int:
        row = self.conn.execute("SELECT rowid FROM memories WHERE id = ?", (memory_id,)).fetchone()
        if row is None:
            raise NotFound(f"no memory {memory_id!r}")
        return int(row[0])

    def _put_vector(self, rowid: int, vector: StoredVector) -> None:
        vec = np.ascontiguousarray(vector.vector, dtype=np.float32)
        self.conn.execute(
            "INSERT OR REPLACE INTO vectors (memory_rowid, model, dim, content_hash, vec)"
            " VALUES (?, ?, ?, ?, ?)",
            (rowid, vector.model, vec.shape[0], vector.content_hash, vec.tobytes()),
        )

    def insert(self, memory: Memory, vector: StoredVector | None) -> None:
        try:
            cur = self.conn.execute(_INSERT, to_row(memory))
        except Exception as exc:
            if "UNIQUE" in str(exc):
                raise Conflict(f"memory {memory.id!r} already exists") from exc
            raise
        rowid = int(cur.lastrowid)
        if memory.content:
            self._index_text(rowid, memory)
        if vector is not None:
            self._put_vector(rowid, vector)
        self._log_change(rowid)

    def _index_text(self, rowid: int, memory: Memory) -> None:
        self.conn.execute("INSERT INTO memories_fts (rowid, content) VALUES (?, ?)",
                          (rowid, index_text(memory.content, memory.tenant, memory.user_id)))

    def update(self, memory: Memory, expected_version: int, vector: StoredVector | None = None,
               reindex_text: bool = False) -> None:
        row = to_row(memory)
        cur = self.conn.execute(_UPDATE, (*row[1:], memory.id, expected_version))
        if cur.rowcount != 1:
            exists = self.conn.execute("SELECT version FROM memories WHERE id = ?",
                                       (memory.id,)).fetchone()
            if exists is None:
                raise NotFound(f"no memory {memory.id!r}")
            raise Conflict(
                f"memory {memory.id!r} is at version {exists[0]}, not {expected_version}: "
                "re-read it and apply your change again"
            )
        rowid = self._rowid(memory.id)
        if reindex_text:
            self.conn.execute("DELETE FROM memories_fts WHERE rowid = ?", (rowid,))
            if memory.content:
                self._index_text(rowid, memory)
            if vector is None:
                self.conn.execute("DELETE FROM vectors WHERE memory_rowid = ?", (rowid,))
        if vector is not None:
            self._put_vector(rowid, vector)
        self._log_change(rowid)

    def erase(self, memory: Memory, actor: str, reason: str) -> dict[str, int]:
        """Make `memory` a content-free tombstone and scrub every derived copy in this DB."""
        rowid = self._rowid(memory.id)
        stamp = now()
        tomb = memory.replace(
            content="", key=None, name=None, tags=(), metadata={}, content_hash="",
            status="deleted", superseded_by=None, version=memory.version + 1, updated_at=stamp,
            expires_at=None,
        )
        self.update(tomb, memory.version)
        counts = {"rows": 1}
        counts["keyword"] = self.conn.execute(
            "DELETE FROM memories_fts WHERE rowid = ?", (rowid,)).rowcount
        counts["vectors"] = self.conn.execute(
            "DELETE FROM vectors WHERE memory_rowid = ?", (rowid,)).rowcount
        counts["history"] = self.conn.execute(
            "UPDATE history SET before = NULL, after = NULL, reason = NULL WHERE memory_id = ?",
            (memory.id,)).rowcount
        self.add_history(HistoryEntry(memory.id, tomb.version, "erase", actor, stamp, reason),
                         memory.tenant)
        return counts

    def add_history(self, entry: HistoryEntry, tenant: str) -> None:
        self.conn.execute(
            "INSERT INTO history (memory_id, tenant, version, action, actor, at, reason, before,"
            " after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.memory_id, tenant, entry.version, entry.action, entry.actor, to_iso(entry.at),
             entry.reason,
             canonical_json(entry.before) if entry.before is not None else None,
             canonical_json(entry.after) if entry.after is not None else None),
        )

    def append_audit(self, tenant: str, actor: str, action: str, target_ids: Sequence[str],
                     details: dict[str, Any]) -> AuditEvent:
        seq, prev = self.audit_head()
        seq += 1
        at = now()
        digest = chain_hash(prev, seq, at, tenant, actor, action, target_ids, details)
        self.conn.execute(
            "INSERT INTO audit (seq, at, tenant, actor, action, target_ids, details, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, to_iso(at), tenant, actor, action, json.dumps(list(target_ids)),
             canonical_json(details), prev, digest),
        )
        self.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('audit_head', ?)",
                          (f"{seq}:{digest}",))
        return AuditEvent(seq, at, tenant, actor, action, tuple(target_ids), details, prev, digest)

    def touch(self, ids: Sequence[str], at: datetime) -> None:
        if ids:
            self.conn.execute(
                "UPDATE memories SET last_accessed_at = ?, access_count = access_count + 1"
                f" WHERE id IN ({_in(ids)})", [to_iso(at), *ids])

    def derived_from(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Memory]:
        """Memories in scope (any status) that still have content and name one of `ids` in
        their `sources`: what an erasure of `ids` must also reach. A seek on the
        memory_sources table, not a scan of the subject's memories."""
        if not ids:
            return []
        scope_sql, scope_args = scope_clause(scope)
        sql = (f"SELECT {SELECT_COLS} FROM memory_sources s"
               " CROSS JOIN memories m ON m.rowid = s.memory_rowid"  # from the cited rows
               f" WHERE s.source_id IN ({_in(ids)}) AND {scope_sql} AND m.content != ''"
               f" AND m.id NOT IN ({_in(ids)})")
        found = (from_row(r) for r in self.conn.execute(sql, [*ids, *scope_args, *ids]))
        return list({m.id: m for m in found}.values())  # one row per memory cited twice

    # -- erasure details (memvault.governance) -------------------------------------------
    def count_live(self, tenant: str, user_id: str) -> int:
        """Active and pending memories of one user (the policy's per-user limit)."""
        row = self.conn.execute(
            "SELECT count(*) FROM memories WHERE tenant = ? AND user_id = ?"
            " AND status IN ('active', 'pending')", (tenant, user_id)).fetchone()
        return int(row[0])

    def erased_among(self, ids: Sequence[str]) -> set[str]:
        """Those of `ids` the erasure ledger records as erased (never to be re-imported)."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = list(ids[i:i + 500])
            out |= {r[0] for r in self.conn.execute(
                f"SELECT memory_id FROM erased_ids WHERE memory_id IN ({_in(chunk)})", chunk)}
        return out

    def refresh_vector_cache(self) -> None:
        """Bring the in-process vector index up to date now (after an erasure commits, so
        erased vectors leave process memory at once rather than at the next search)."""
        index = self.store.index
        with index.lock:
            if index.model is not None:
                self._sync_index(index.model)
        if not self.store.in_memory:  # saved ANN graphs may hold the erased vectors
            drop_ann_files(self.store.path)
            index.drop_persisted()

    def optimize_keyword_index(self) -> None:
        """Rewrite the FTS5 index as one segment: terms of erased rows that secure-delete
        left as segment keys are dropped (O(index size))."""
        self.conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")

    def record_erasure(self, receipt: dict[str, Any], memory_ids: Sequence[str]) -> None:
        self.conn.execute(
            "INSERT INTO erasures (id, at, tenant, subject_hash, receipt) VALUES (?, ?, ?, ?, ?)",
            (receipt["id"], receipt["at"], receipt["tenant"], receipt["subject_hash"],
             canonical_json(receipt)),
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO erased_ids (memory_id, erasure_id) VALUES (?, ?)",
            [(i, receipt["id"]) for i in memory_ids],
        )


def check_filters_scalar(meta: dict[str, Any]) -> None:
    for k in meta:
        if not isinstance(k, str) or not k:
            raise InvalidInput("metadata filter keys must be non-empty strings")
