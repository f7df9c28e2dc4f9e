"""One PostgreSQL transaction: the reads and writes the vault composes inside it.

Same semantics as `sqlite_tx.SqliteTx`. Visibility goes through `sqlrows.scope_clause`
(the one scope rule) and, underneath it, Row-Level Security keyed on the transaction-local
setting `memvault.tenant` (set here before every tenant-addressed statement).
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg import sql

from .._util import aware, canonical_json, now
from ..audit import GENESIS, chain_hash
from ..errors import Conflict, InvalidInput, NotFound
from ..types import AuditEvent, HistoryEntry, Memory, Scope
from .base import Filters, ListQuery, QueryVector, StoredVector, resolve
from .pgrows import (
    INSERT,
    SELECT_COLS,
    TSV,
    UPDATE,
    filter_clause,
    from_pg_row,
    indexed_text,
    to_pg_row,
    tsquery_text,
)
from .pgsearch import (
    SCOPE_ROWS_SQL,
    broad_keyword_sql,
    keyword_narrow,
    narrow_keyword_sql,
    scope_owners,
    vector_exact,
    within_budget,
)
from .sqlrows import COLUMNS, scope_clause

if TYPE_CHECKING:
    from .postgres import PostgresStore

ALL_TENANTS = "*"  # the RLS bypass value of memvault.tenant (maintenance/admin only)


class PgTx:
    def __init__(self, store: PostgresStore, conn: Any, writable: bool) -> None:
        self.store = store
        self.conn = conn
        self.writable = writable
        self._tenant: str | None = None
        self._head: tuple[int, str] | None = None

    def _q(self, query: Any, args: Sequence[Any] = ()) -> Any:
        return self.conn.execute(query, args)

    def lock_writer(self) -> None:
        """Take the audit head row lock: one writer at a time across all processes."""
        row = self._q("SELECT v FROM meta WHERE k = 'audit_head' FOR UPDATE").fetchone()
        self._head = _parse_head(row[0] if row else None)

    def as_tenant(self, tenant: str) -> None:
        """Point RLS at `tenant` for the rest of the transaction (set_config, is_local)."""
        if tenant == ALL_TENANTS:
            raise InvalidInput(f"tenant {ALL_TENANTS!r} is reserved on PostgreSQL")
        self._set_tenant(tenant)

    def as_admin(self) -> None:
        """The documented RLS bypass (memvault.tenant = '*'), for statements that are not
        addressed to one tenant: maintenance, migration, ids from an already-scoped read."""
        self._set_tenant(ALL_TENANTS)

    def _set_tenant(self, value: str) -> None:
        if value != self._tenant:
            self._q("SELECT set_config('memvault.tenant', %s, true)", (value,))
            self._tenant = value

    # -- reads -------------------------------------------------------------------------
    def _select(self, scope: Scope, where: str, args: Sequence[Any],
                tail: str = "") -> builtins.list[Memory]:
        self.as_tenant(scope.tenant)
        scope_sql, scope_args = scope_clause(scope, ph="%s")
        q = f"SELECT {SELECT_COLS} FROM memories m WHERE {scope_sql} AND {where} {tail}"
        return [from_pg_row(r) for r in self._q(q, [*scope_args, *args])]

    def get(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Memory]:
        if not ids:
            return []
        found = {m.id: m for m in self._select(scope, "m.id = ANY(%s)", [list(ids)])}
        return [found[i] for i in ids if i in found]

    def list(self, scope: Scope, query: ListQuery) -> tuple[builtins.list[Memory], str | None]:
        where, args = filter_clause(scope, query.filters, now())
        desc = query.order != "asc"
        if query.cursor:
            where += f" AND m.id {'<' if desc else '>'} %s"
            args.append(query.cursor)
        tail = f"ORDER BY m.id {'DESC' if desc else 'ASC'} LIMIT {int(query.limit) + 1}"
        rows = self._select(scope, where, args, tail)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return rows, (rows[-1].id if more and rows else None)

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEntry]:
        if not self.get(scope, [memory_id]):
            raise NotFound(f"no memory {memory_id!r} in this scope")
        rows = self._q(
            "SELECT memory_id, version, action, actor, at, reason, before, after FROM history"
            " WHERE memory_id = %s AND tenant = %s ORDER BY seq", (memory_id, scope.tenant),
        ).fetchall()
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], aware(r[4]), r[5],
                         json.loads(r[6]) if r[6] else None, json.loads(r[7]) if r[7] else None)
            for r in rows
        ]

    def _exact_scope(self, scope: Scope) -> tuple[str, builtins.list[Any]]:
        self.as_tenant(scope.tenant)
        return ("m.tenant = %s AND m.user_id IS NOT DISTINCT FROM %s"
                " AND m.agent_id IS NOT DISTINCT FROM %s",
                [scope.tenant, scope.user_id, scope.agent_id])

    def find_by_key(self, scope: Scope, key: str) -> builtins.list[Memory]:
        where, args = self._exact_scope(scope)
        q = (f"SELECT {SELECT_COLS} FROM memories m WHERE {where} AND m.key = %s"
             " AND m.status = 'active'")
        return [from_pg_row(r) for r in self._q(q, [*args, key])]

    def superseded_sources(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Those of `ids` cited as a source by a superseded memory (stale evidence)."""
        if not ids:
            return set()
        self.as_tenant(scope.tenant)
        scope_sql, scope_args = scope_clause(scope, ph="%s")
        cited = ("SELECT j.value FROM memories m, jsonb_array_elements_text(m.sources) j"
                 f" WHERE {scope_sql} AND m.status = %s AND m.sources ?| %s::text[]"
                 " AND j.value = ANY(%s)")
        # stale: evidence only for superseded values, not also for a current one
        args = [list(ids), list(ids)]
        return {r[0] for r in self._q(f"{cited} EXCEPT {cited}",
                                      [*scope_args, "superseded", *args,
                                       *scope_args, "active", *args])}

    def find_by_hash(self, scope: Scope, content_hash: str, kind: str) -> builtins.list[Memory]:
        where, args = self._exact_scope(scope)
        q = (f"SELECT {SELECT_COLS} FROM memories m WHERE {where} AND m.content_hash = %s"
             " AND m.kind = %s AND m.status IN ('active', 'pending')")
        return [from_pg_row(r) for r in self._q(q, [*args, content_hash, kind])]

    def keyword_search(self, scope: Scope, terms: Sequence[str], filters: Filters,
                       limit: int) -> builtins.list[tuple[str, float]]:
        """OR of the terms, ranked by ts_rank_cd (normalised 1|32: length-normalised, in
        [0, 1)), the BM25-like equivalent; see docs/postgres.md, "Keyword search".

        Bounded like the SQLite store (see `bounded_terms`): very common terms are dropped
        while rarer ones remain. A narrow scope is scanned row by row; a broad one ranks
        the tenant's candidates from `keyword_index` (at most `keyword_budget` of them,
        dropping the commonest of the kept terms past that) and walks them in rank order.
        """
        df = self._term_dfs(terms)
        terms = self._bounded(terms, df)
        if not terms:
            return []
        self.as_tenant(scope.tenant)
        scope_sql, scope_args = scope_clause(scope, ph="%s")
        where, args = filter_clause(scope, filters, now())
        rows_in_scope, _ = self.scope_rows(scope)
        if keyword_narrow(rows_in_scope, sum(df[t] for t in terms)):
            q = narrow_keyword_sql(scope_sql, where)
            params = [tsquery_text(terms), *scope_args, *args, limit]
        else:
            terms = within_budget(terms, df, self.store.keyword_budget)
            q = broad_keyword_sql(scope_sql, where)
            params = [builtins.list(terms), scope.tenant, *scope_args, *args, limit]
        return [(r[0], float(r[1])) for r in self._q(q, params).fetchall()]

    def scope_rows(self, scope: Scope) -> tuple[int, int]:
        """(rows the scope covers, the tenant's rows), every status, from `scope_rows`;
        an agent or a filter only narrows the first."""
        self.as_tenant(scope.tenant)
        owners = scope_owners(scope.user_id)
        row = self._q(SCOPE_ROWS_SQL, (owners, scope.tenant, [*owners, "t"])).fetchone()
        return int(row[0]), int(row[1])

    def bounded_terms(self, terms: Sequence[str]) -> builtins.list[str]:
        """As textindex.plan_keyword_query: the terms present in the index, without those
        in more than max(store.common_df, 1% of the rows) rows if rarer ones remain (else
        the two rarest). Document frequencies come from `term_df` (kept by a trigger),
        exact and in one indexed lookup, like FTS5's vocabulary table."""
        return self._bounded(terms, self._term_dfs(terms))

    def _term_dfs(self, terms: Sequence[str]) -> dict[str, int]:
        """Rows holding each term (a term with no lexeme matches nothing: absent)."""
        rows = self._q(
            "SELECT u.t, min(COALESCE(d.df, 0)) FROM unnest(%s::text[]) AS u (t)"
            " CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('simple', u.t))) AS l (x)"
            " LEFT JOIN term_df d ON d.h = md5(l.x)::uuid GROUP BY u.t",
            (builtins.list(terms),)).fetchall()
        return {t: int(n) for t, n in rows}

    def _bounded(self, terms: Sequence[str], df: dict[str, int]) -> builtins.list[str]:
        cutoff = max(self.store.common_df, int(self.store.table_rows(self.conn)) // 100)
        present = [t for t in terms if df.get(t, 0) > 0]
        rare = [t for t in present if df[t] <= cutoff]
        return rare or sorted(present, key=lambda t: df[t])[:2]

    def vector_search(self, scope: Scope, vector: QueryVector, model: str, filters: Filters,
                      limit: int) -> builtins.list[tuple[str, float]]:
        """Cosine top-`limit` among the rows that pass scope and filters.

        The query matches the partial HNSW index and runs with pgvector's iterative scan
        (relaxed order, re-sorted here), so the planner may walk the index until enough
        rows pass the filters, or, when it estimates the filtered set small, compute the
        distances of just those rows (exact). If the index path returns fewer than
        `limit` rows (a filter too selective for it), the search is redone exactly, so a
        selective filter never loses results."""
        vec = np.ascontiguousarray(resolve(vector), dtype=np.float32)
        dim = int(vec.shape[0])
        self.as_tenant(scope.tenant)
        scope_sql, scope_args = scope_clause(scope, ph="%s")
        where, args = filter_clause(scope, filters, now())
        base = sql.SQL(
            "FROM vectors v JOIN memories m ON m.id = v.memory_id WHERE v.model = {model}"
            " AND v.dim = {dim} AND v.tenant = %s AND " + scope_sql + " AND " + where
        ).format(model=sql.Literal(model), dim=sql.Literal(dim))
        bargs = [scope.tenant, *scope_args, *args]
        exact = self.store.exact_below
        if exact > 0:  # optional: count the filtered set, search it exactly when small
            probe = sql.SQL("SELECT count(*) FROM (SELECT 1 {} LIMIT {}) t").format(
                base, sql.Literal(exact))
            if self._q(probe, bargs).fetchone()[0] < exact:
                return self._vector_query(base, bargs, vec, dim, limit, approximate=False)
        elif scope.user_id is not None and vector_exact(*self.scope_rows(scope)):
            # a small share of a large tenant: the exact scan beats the iterative scan
            return self._vector_query(base, bargs, vec, dim, limit, approximate=False)
        found = self._vector_query(base, bargs, vec, dim, limit, approximate=True)
        if len(found) < limit:  # the index could not fill `limit` under these filters
            found = self._vector_query(base, bargs, vec, dim, limit, approximate=False)
        return found

    def _vector_query(self, base: sql.Composable, bargs: builtins.list[Any], vec: np.ndarray,
                      dim: int, limit: int, approximate: bool) -> builtins.list[tuple[str, float]]:
        dist: sql.Composable
        if approximate:  # matches the partial index expression (vec::vector(dim))
            dist = sql.SQL("(v.vec::vector({d}) <=> %s::vector({d}))").format(d=sql.Literal(dim))
            ef = min(max(self.store.ef_search, limit), 1000)  # SET LOCAL, in one round trip
            self._q("SELECT set_config('hnsw.ef_search', %s, true),"
                    " set_config('hnsw.iterative_scan', 'relaxed_order', true)", (str(ef),))
        else:  # untyped: no index matches, so the planner computes every distance
            dist = sql.SQL("(v.vec <=> %s::vector)")
        q = sql.SQL("SELECT * FROM (SELECT m.id, {d} AS d {base} ORDER BY d LIMIT {n}) r"
                    " ORDER BY d, id").format(d=dist, base=base, n=sql.Literal(int(limit)))
        rows = self._q(q, [vec, *bargs]).fetchall()
        out = []
        for mid, d in rows:
            score = 0.0 if d is None or math.isnan(d) else 1.0 - float(d)
            out.append((mid, score))
        return out

    def vectors_for(self, ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        self.as_admin()  # addressed by id, from rows already read in scope
        rows = self._q("SELECT memory_id, vec FROM vectors WHERE memory_id = ANY(%s)"
                       " AND model = %s", (list(ids), model))
        return {r[0]: np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows}

    def audit_events(self, tenant: str | None, after_seq: int = 0,
                     limit: int = 1000) -> builtins.list[AuditEvent]:
        q = ("SELECT seq, at, tenant, actor, action, target_ids, details, prev_hash, hash"
             " FROM audit WHERE seq > %s")
        args: builtins.list[Any] = [after_seq]
        if tenant is not None:
            q += " AND tenant = %s"
            args.append(tenant)
        q += " ORDER BY seq LIMIT %s"
        args.append(limit)
        return [
            AuditEvent(r[0], aware(r[1]), r[2], r[3], r[4], tuple(json.loads(r[5])),
                       json.loads(r[6]), r[7], r[8])
            for r in self._q(q, args)
        ]

    def audit_head(self) -> tuple[int, str]:
        if self._head is None:
            self._head = _parse_head(self.meta("audit_head"))
        return self._head

    def meta(self, key: str) -> str | None:
        row = self._q("SELECT v FROM meta WHERE k = %s", (key,)).fetchone()
        return row[0] if row else None

    def stats(self, tenant: str) -> dict[str, Any]:
        self.as_tenant(tenant)
        by = {
            col: dict(self._q(f"SELECT {col}, count(*) FROM memories WHERE tenant = %s"
                              f" GROUP BY {col}", (tenant,)).fetchall())
            for col in ("kind", "status")
        }
        users = self._q("SELECT COALESCE(user_id, ''), count(*) FROM memories WHERE tenant = %s"
                        " AND status != 'deleted' GROUP BY user_id ORDER BY 2 DESC LIMIT 50",
                        (tenant,)).fetchall()
        days = self._q("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)"
                       " FROM memories WHERE tenant = %s GROUP BY 1 ORDER BY 1 DESC LIMIT 60",
                       (tenant,)).fetchall()
        size = self._q("SELECT sum(pg_total_relation_size(c)) FROM unnest(%s::regclass[]) c",
                       (["memories", "vectors", "history", "audit"],)).fetchone()[0]
        return {"by_kind": by["kind"], "by_status": by["status"], "by_user": dict(users),
                "per_day": dict(sorted(days)), "storage_bytes": int(size or 0),
                "pending": by["status"].get("pending", 0)}

    # -- writes ------------------------------------------------------------------------
    def _put_vector(self, memory: Memory, vector: StoredVector) -> None:
        vec = np.ascontiguousarray(vector.vector, dtype=np.float32)
        dim = int(vec.shape[0])
        self.store.ensure_vector_index(self, vector.model, dim)
        self._q(
            "INSERT INTO vectors (memory_id, tenant, model, dim, content_hash, vec)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (memory_id) DO UPDATE SET"
            " model = EXCLUDED.model, dim = EXCLUDED.dim, content_hash = EXCLUDED.content_hash,"
            " vec = EXCLUDED.vec, tenant = EXCLUDED.tenant",
            (memory.id, memory.tenant, vector.model, dim, vector.content_hash, vec),
        )

    def insert(self, memory: Memory, vector: StoredVector | None) -> None:
        self.as_tenant(memory.tenant)
        cur = self._q(INSERT, (*to_pg_row(memory), indexed_text(memory.content)))
        if cur.rowcount != 1:
            raise Conflict(f"memory {memory.id!r} already exists")
        if vector is not None:
            self._put_vector(memory, vector)

    def insert_many(self, items: Sequence[tuple[Memory, StoredVector | None]]) -> None:
        """`insert` of many new memories through COPY, for bulk loads: the same rows,
        keyword index, term_df counts (the trigger runs per row) and vectors as one
        `insert` each, in a few statements instead of two round trips per memory. The
        HNSW index is maintained row by row as with `insert`; for a large load drop it
        first and build it afterwards (docs/scaling.md). An id already present is a
        Conflict, and the caller's transaction then writes nothing."""
        if not items:
            return
        tenants = {m.tenant for m, _ in items}
        for tenant in tenants:
            self.as_tenant(tenant)  # refuses the reserved '*'
        if len(tenants) > 1:
            self.as_admin()  # rows of several tenants in one statement
        self._copy_rows([m for m, _ in items])
        by_model: dict[tuple[str, int], builtins.list[tuple[Memory, np.ndarray]]] = {}
        for m, vector in items:
            if vector is not None:
                vec = np.ascontiguousarray(vector.vector, dtype=np.float32)
                by_model.setdefault((vector.model, int(vec.shape[0])), []).append((m, vec))
        for (model, dim), rows in by_model.items():
            self.store.ensure_vector_index(self, model, dim)
            self._copy_vectors(model, dim, rows)

    # COPY FROM refuses tables with row-level security: both go through a staging table
    # (temporary, dropped at once) and one INSERT ... SELECT, which RLS checks as usual
    def _copy_rows(self, memories: Sequence[Memory]) -> None:
        cols = ", ".join(COLUMNS)
        self._q(f"CREATE TEMP TABLE mv_stage ON COMMIT DROP AS SELECT {cols}"
                " FROM memories WITH NO DATA")
        self._q("ALTER TABLE mv_stage ADD COLUMN words text")
        with self.conn.cursor().copy(f"COPY mv_stage ({cols}, words) FROM STDIN") as copy:
            for m in memories:
                copy.write_row((*to_pg_row(m), indexed_text(m.content)))
        cur = self._q(f"INSERT INTO memories ({cols}, tsv) SELECT {cols}, {TSV % 'words'}"
                      " FROM mv_stage ON CONFLICT (id) DO NOTHING")
        self._q("DROP TABLE mv_stage")
        if cur.rowcount != len(memories):
            raise Conflict(f"{len(memories) - cur.rowcount} of {len(memories)} memories "
                           "already exist (or repeat an id)")

    def _copy_vectors(self, model: str, dim: int,
                      rows: Sequence[tuple[Memory, np.ndarray]]) -> None:
        cols = "memory_id, tenant, model, dim, content_hash, vec"
        self._q(f"CREATE TEMP TABLE mv_stage ON COMMIT DROP AS SELECT {cols}"
                " FROM vectors WITH NO DATA")
        with self.conn.cursor().copy(f"COPY mv_stage ({cols}) FROM STDIN (FORMAT BINARY)"
                                     ) as copy:
            copy.set_types(["text", "text", "text", "int4", "text", "vector"])
            for m, vec in rows:
                copy.write_row((m.id, m.tenant, model, dim, m.content_hash, vec))
        self._q(f"INSERT INTO vectors ({cols}) SELECT {cols} FROM mv_stage")
        self._q("DROP TABLE mv_stage")

    def update(self, memory: Memory, expected_version: int, vector: StoredVector | None = None,
               reindex_text: bool = False) -> None:
        self.as_tenant(memory.tenant)
        row = to_pg_row(memory)
        cur = self._q(UPDATE, (*row[1:], indexed_text(memory.content), memory.id,
                                expected_version))
        if cur.rowcount != 1:
            exists = self._q("SELECT version FROM memories WHERE id = %s", (memory.id,)).fetchone()
            if exists is None:
                raise NotFound(f"no memory {memory.id!r}")
            raise Conflict(
                f"memory {memory.id!r} is at version {exists[0]}, not {expected_version}: "
                "re-read it and apply your change again"
            )
        if reindex_text and vector is None:  # tsv was rewritten with the row above
            self._q("DELETE FROM vectors WHERE memory_id = %s", (memory.id,))
        if vector is not None:
            self._put_vector(memory, vector)

    def erase(self, memory: Memory, actor: str, reason: str) -> dict[str, int]:
        """Make `memory` a content-free tombstone and scrub every derived copy in this DB."""
        self.as_tenant(memory.tenant)
        row = self._q("SELECT content <> '' FROM memories WHERE id = %s", (memory.id,)).fetchone()
        if row is None:
            raise NotFound(f"no memory {memory.id!r}")
        stamp = now()
        tomb = memory.replace(
            content="", key=None, name=None, tags=(), metadata={}, content_hash="",
            status="deleted", superseded_by=None, version=memory.version + 1, updated_at=stamp,
            expires_at=None,
        )
        self.update(tomb, memory.version)  # content '' writes an empty tsvector
        counts = {"rows": 1, "keyword": int(bool(row[0]))}
        counts["vectors"] = self._q("DELETE FROM vectors WHERE memory_id = %s",
                                    (memory.id,)).rowcount
        counts["history"] = self._q(
            "UPDATE history SET before = NULL, after = NULL, reason = NULL WHERE memory_id = %s",
            (memory.id,)).rowcount
        self.add_history(HistoryEntry(memory.id, tomb.version, "erase", actor, stamp, reason),
                         memory.tenant)
        return counts

    def add_history(self, entry: HistoryEntry, tenant: str) -> None:
        self.as_tenant(tenant)
        self._q(
            "INSERT INTO history (memory_id, tenant, version, action, actor, at, reason, before,"
            " after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (entry.memory_id, tenant, entry.version, entry.action, entry.actor, aware(entry.at),
             entry.reason,
             canonical_json(entry.before) if entry.before is not None else None,
             canonical_json(entry.after) if entry.after is not None else None),
        )

    def append_audit(self, tenant: str, actor: str, action: str, target_ids: Sequence[str],
                     details: dict[str, Any]) -> AuditEvent:
        seq, prev = self.audit_head()  # the row is locked by PostgresStore.write()
        seq += 1
        at = now()
        digest = chain_hash(prev, seq, at, tenant, actor, action, target_ids, details)
        self._q(
            "INSERT INTO audit (seq, at, tenant, actor, action, target_ids, details, prev_hash,"
            " hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (seq, at, tenant, actor, action, json.dumps(list(target_ids)),
             canonical_json(details), prev, digest),
        )
        self._q("UPDATE meta SET v = %s WHERE k = 'audit_head'", (f"{seq}:{digest}",))
        self._head = (seq, digest)
        return AuditEvent(seq, at, tenant, actor, action, tuple(target_ids), details, prev, digest)

    def touch(self, ids: Sequence[str], at: datetime) -> None:
        if ids:
            self.as_admin()  # ids come from a search already made in scope
            self._q("UPDATE memories SET last_accessed_at = %s, access_count = access_count + 1"
                    " WHERE id = ANY(%s)", (aware(at), list(ids)))

    def record_erasure(self, receipt: dict[str, Any], memory_ids: Sequence[str]) -> None:
        self._q(
            "INSERT INTO erasures (id, at, tenant, subject_hash, receipt)"
            " VALUES (%s, %s, %s, %s, %s)",
            (receipt["id"], receipt["at"], receipt["tenant"], receipt["subject_hash"],
             canonical_json(receipt)),
        )
        if memory_ids:
            self.conn.cursor().executemany(
                "INSERT INTO erased_ids (memory_id, erasure_id) VALUES (%s, %s)"
                " ON CONFLICT (memory_id) DO NOTHING",
                [(i, receipt["id"]) for i in memory_ids],
            )


def _parse_head(value: str | None) -> tuple[int, str]:
    if not value:
        return 0, GENESIS
    seq, _, digest = value.partition(":")
    return int(seq), digest
