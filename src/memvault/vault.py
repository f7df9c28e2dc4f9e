"""The front door: `Vault` composes validation, policy, reconciliation, store and ranking."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from . import validate as v
from ._util import content_hash, new_id, now, parse_time
from .config import Settings
from .embed.base import Embedder
from .errors import InvalidInput, NotFound, PolicyViolation
from .extract.base import Extractor, NullExtractor
from .ingest import (
    ExtractionJob,
    ExtractionQueue,
    Proposal,
    cosine,
    neighbor_ids,
    similar_existing,
    snapshot,
    to_proposals,
)
from .policy.engine import RESERVED_METADATA, Policy, hold_derived, policy_audit
from .reconcile import ADD, Intent, Neighbor, WritePlan, plan_write
from .retrieval import Retriever
from .stores.base import ListQuery, Store, StoredVector, WriteTx
from .stores.sqlrows import memory_snapshot
from .types import AddResult, HistoryEntry, Hit, Memory, Page, Scope

log = logging.getLogger("memvault")

_ROLE_SOURCE = {"user": "user", "assistant": "assistant", "system": "admin", "tool": "tool"}


class Vault:
    """A persistent memory. Open one with `memvault.open()`; safe to share between threads."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings,
                 extractor: Extractor | None = None, policy: Policy | None = None,
                 tenant: str = "default", actor: str = "library") -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.extractor: Extractor = extractor or NullExtractor()
        self.policy = policy or Policy()
        self.tenant = tenant
        self.actor = actor
        self.retriever = Retriever(self)
        self._lock = threading.Lock()
        self._extractions = ExtractionQueue(self._run_extraction)
        self.maintenance_policy: Any = None  # a maintenance.MaintenancePolicy; None = defaults

    # -- lifecycle -------------------------------------------------------------------
    def close(self, *, drain: bool = True, timeout: float | None = 30.0) -> None:
        """Finish (`drain`, up to `timeout` s) or cancel queued background extractions,
        then close the store. Cancelled extractions leave their messages stored."""
        self._extractions.close(drain=drain, timeout=timeout)
        self.store.close()

    def pending_extractions(self) -> int:
        """Background extractions queued or running (see `add(..., background=True)`)."""
        return self._extractions.pending()

    def wait_for_extractions(self, timeout: float | None = None) -> bool:
        """Block until no background extraction is pending; False if `timeout` passed."""
        return self._extractions.wait(timeout)

    def extraction_stats(self) -> dict[str, Any]:
        """Counts of background extraction jobs (pending, done, failed, cancelled) and the
        latest extractor warnings."""
        return snapshot(self._extractions.stats, self._extractions.pending())

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def review(self) -> Any:
        from .governance import Review

        return Review(self)

    @property
    def audit(self) -> Any:
        from .governance import AuditLog

        return AuditLog(self)

    def scope(self, user_id: str | None = None, agent_id: str | None = None,
              session_id: str | None = None, tenant: str | None = None) -> Scope:
        return Scope(
            tenant=v.check_id_field(tenant, "tenant") or self.tenant,
            user_id=v.check_id_field(user_id, "user_id"),
            agent_id=v.check_id_field(agent_id, "agent_id"),
            session_id=v.check_id_field(session_id, "session_id"),
        )

    # -- building records ------------------------------------------------------------
    def _new(self, scope: Scope, content: str, kind: str, source: str, at: datetime,
             **fields: Any) -> Memory:
        """A new record that has been through the policy gate (redaction, sensitivity,
        poisoning screen, review, retention); `PolicyViolation` if the policy refuses it.
        Status and the policy's metadata keys are the gate's alone, never the caller's."""
        meta = {k: val for k, val in (fields.pop("metadata", None) or {}).items()
                if k not in RESERVED_METADATA}
        m = Memory(id=new_id(), tenant=scope.tenant, user_id=scope.user_id,
                   agent_id=scope.agent_id, session_id=scope.session_id, kind=kind,
                   content=content, source=source, created_at=at, updated_at=at,
                   content_hash=content_hash(content), metadata=meta, **fields)
        try:
            d = self.policy.decide(m, at)
        except PolicyViolation as exc:
            from .governance import audit_blocked

            audit_blocked(self, m, exc)
            raise
        if d.reasons:
            meta["_review_reasons"] = list(d.reasons)
        if d.redacted:
            meta["_redacted"] = list(d.redacted)
        return m.replace(status=d.status, content=d.content, sensitivity=d.sensitivity,
                         expires_at=d.expires_at, metadata=meta,
                         content_hash=content_hash(d.content))

    def _vectors(self, memories: Sequence[Memory]) -> dict[str, StoredVector]:
        todo = [m for m in memories if m.content]
        if not todo:
            return {}
        mat = self.embedder.embed([m.content for m in todo])
        return {m.id: StoredVector(self.embedder.name, mat[i], m.content_hash)
                for i, m in enumerate(todo)}

    # -- writes ----------------------------------------------------------------------
    def add(self, messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, infer: bool = True, timestamp: Any = None,
            metadata: Mapping[str, Any] | None = None, source: str | None = None,
            tenant: str | None = None, background: bool = False) -> AddResult:
        """Store conversation turns as `message` memories and, with `infer=True`, the
        memories the extractor proposes from them (preferences, facts, events...),
        reconciled with what is stored (see `memvault.reconcile`).

        The default extractor is chosen by `memvault.open` (rule-based offline, or an LLM
        when one is configured); `NullExtractor` extracts nothing. Everything of one call is
        written in one transaction, with history and audit rows. With `background=True` the
        messages are written at once and extraction runs on the vault's worker thread
        (`pending_extractions()` counts what is queued); if the queue is full, it runs inline.
        Extraction never makes an add fail: problems come back in `AddResult.warnings`.
        """
        scope = self.scope(user_id, agent_id, session_id, tenant)
        parsed = v.parse_messages(messages, self.settings.max_messages_per_add,
                                  self.settings.max_content_chars)
        base_meta = v.check_metadata(metadata)
        at = now()
        default_time = v.check_time(timestamp, "timestamp")
        if source is not None:
            v.check_source(source)
        stored = [self._message(scope, msg, at, default_time, base_meta, source)
                  for msg in parsed]
        vectors = self._vectors(stored)
        if not infer:
            return self._write_many(stored, at, "add", vectors)
        if background:
            result = self._write_many(stored, at, "add", vectors)
            job = ExtractionJob(scope, tuple(m.id for m in stored), at)
            if self._extractions.submit(job):
                return result
            later = self._write_proposals(scope, stored, at, vectors)
            return AddResult(result.memories + later.memories, result.pending + later.pending,
                             later.superseded,
                             ["extraction queue full: extracted inline", *later.warnings])
        proposals, warnings = self._extract(scope, stored, at, vectors)
        result = self._write_many([*stored, *proposals], at, "add", vectors)
        return AddResult(result.memories, result.pending, result.superseded, warnings)

    def _message(self, scope: Scope, msg: dict[str, Any], at: datetime,
                 default_time: datetime | None, base_meta: dict[str, Any],
                 source: str | None) -> Memory:
        when = msg["timestamp"] or default_time or at
        return self._new(scope, msg["content"], "message", source or _ROLE_SOURCE[msg["role"]],
                         at, role=msg["role"], name=msg["name"], valid_from=when,
                         metadata={**base_meta, **msg["metadata"]})

    def _extract(self, scope: Scope, messages: builtins.list[Memory], at: datetime,
                 vectors: dict[str, StoredVector]
                 ) -> tuple[builtins.list[Proposal], builtins.list[str]]:
        """Candidates from the extractor, as proposals; never raises."""
        existing: builtins.list[Memory] = []
        try:
            if getattr(self.extractor, "wants_existing", False):
                existing = similar_existing(self, scope, messages, vectors)
            cands = self.extractor.extract(messages, existing)
            warnings = list(getattr(self.extractor, "last_warnings", None) or [])
            return hold_derived(to_proposals(self, scope, messages, cands, at), messages), warnings
        except Exception as exc:  # noqa: BLE001 - an add never fails because extraction did
            log.error("extraction failed: %s", type(exc).__name__)
            return [], [f"extraction failed ({type(exc).__name__}: {exc}); the messages are "
                        "stored without extracted memories"]

    def _write_proposals(self, scope: Scope, messages: builtins.list[Memory], at: datetime,
                         vectors: dict[str, StoredVector]) -> AddResult:
        proposals, warnings = self._extract(scope, messages, at, vectors)
        result = self._write_many(list(proposals), at, "extract")
        return AddResult(result.memories, result.pending, result.superseded, warnings)

    def _run_extraction(self, job: ExtractionJob) -> builtins.list[str]:
        """A background job: re-read the messages (some may have been erased since) and
        extract from those still there."""
        with self.store.read() as tx:
            found = {m.id: m for m in tx.get(job.scope, list(job.message_ids))}
        messages = [found[i] for i in job.message_ids
                    if i in found and found[i].content and found[i].status != "deleted"]
        if not messages:
            return []
        with self.store.read() as tx:
            stored = tx.vectors_for([m.id for m in messages], self.embedder.name)
        vectors = {i: StoredVector(self.embedder.name, vec, found[i].content_hash)
                   for i, vec in stored.items()}
        return self._write_proposals(job.scope, messages, now(), vectors).warnings

    def remember(self, content: str, *, user_id: str | None = None, agent_id: str | None = None,
                 session_id: str | None = None, kind: str = "fact", key: str | None = None,
                 confidence: float = 1.0, importance: float = 0.5, sensitivity: str = "none",
                 tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
                 ttl: float | None = None, valid_from: Any = None, valid_to: Any = None,
                 source: str = "user", sources: Sequence[str] = (),
                 tenant: str | None = None) -> Memory:
        """Store one memory directly. A `key` makes it supersede older values of that key."""
        scope = self.scope(user_id, agent_id, session_id, tenant)
        at = now()
        ttl_s = v.check_ttl(ttl)
        vf, vt = v.check_time(valid_from, "valid_from"), v.check_time(valid_to, "valid_to")
        if vf and vt and vt <= vf:
            raise InvalidInput("valid_to must be after valid_from")
        m = self._new(
            scope, v.check_content(content, self.settings.max_content_chars), v.check_kind(kind),
            v.check_source(source), at, key=v.check_id_field(key, "key"),
            confidence=v.check_unit(confidence, "confidence"),
            importance=v.check_unit(importance, "importance"),
            sensitivity=v.check_sensitivity(sensitivity), tags=v.check_tags(tags),
            metadata=v.check_metadata(metadata), valid_from=vf, valid_to=vt,
            sources=tuple(v.check_id_field(s, "sources") or "" for s in sources),
            expires_at=at + timedelta(seconds=ttl_s) if ttl_s else None,
        )
        result = self._write_many([m], at, "remember")
        return (result.memories or result.pending or result.superseded)[0]

    def _write_many(self, items: Sequence[Memory | Proposal], at: datetime, action: str,
                    vectors: dict[str, StoredVector] | None = None) -> AddResult:
        proposals = [p if isinstance(p, Proposal) else Proposal(p, "plain") for p in items]
        memories = [p.memory for p in proposals]
        vectors = {**(vectors or {}),
                   **self._vectors([m for m in memories if m.id not in (vectors or {})])}
        reconciled = [p.memory for p in proposals if p.action != "plain"]
        near = neighbor_ids(self, reconciled, vectors) if reconciled else {}
        created: builtins.list[Memory] = []
        pending: builtins.list[Memory] = []
        superseded: builtins.list[Memory] = []
        inserted: builtins.list[Memory] = []
        with self.store.write() as tx:
            for p in proposals:
                m = p.memory
                intent, nbrs = self._intent(tx, p, near.get(m.id, []), inserted, vectors)
                plan = self._plan(tx, m, at, intent, nbrs)
                self._apply(tx, plan, vectors.get(m.id), action)
                superseded += [c.after for c in plan.changes if c.action == "supersede"]
                if plan.insert is not None:
                    inserted.append(plan.insert)
                target = plan.result
                if target is None:
                    continue
                (pending if target.status == "pending" else created).append(target)
            if inserted and self.policy.max_memories_per_user is not None:
                from .governance import check_quota

                check_quota(self, tx, inserted)
        return AddResult(created, pending, superseded)

    def _intent(self, tx: WriteTx, p: Proposal, near: builtins.list[tuple[str, float]],
                inserted: builtins.list[Memory], vectors: dict[str, StoredVector]
                ) -> tuple[Intent, builtins.list[Neighbor]]:
        """The extractor's decision with its target and neighbours read fresh in `tx`."""
        if p.action == "plain":
            return ADD, []
        m = p.memory
        target = None
        if p.target_id:
            found = tx.get(m.scope, [p.target_id])
            target = found[0] if found else None
        sims = dict(near)
        mine = vectors.get(m.id)
        for other in inserted:  # memories written earlier in this same call
            vec = vectors.get(other.id)
            if mine is not None and vec is not None and other.kind == m.kind:
                sims[other.id] = cosine(mine.vector, vec.vector)
        rows = tx.get(m.scope, list(sims)) if sims else []
        return (Intent(p.action, target, p.negated, p.correction, reconcile=True),
                [Neighbor(r, sims[r.id]) for r in rows])

    def _plan(self, tx: WriteTx, m: Memory, at: datetime, intent: Intent = ADD,
              neighbors: Sequence[Neighbor] = ()) -> WritePlan:
        scope = m.scope
        same_hash = tx.find_by_hash(scope, m.content_hash, m.kind) if m.kind != "message" else []
        same_key = tx.find_by_key(scope, m.key) if m.key else []
        return plan_write(m, same_hash, same_key, at, intent, neighbors)

    def _apply(self, tx: WriteTx, plan: WritePlan, vector: StoredVector | None,
               action: str) -> None:
        if plan.insert is None and not plan.changes:
            return
        for c in plan.changes:
            if c.reindex:
                tx.update(c.after, c.before.version, vector, reindex_text=True)
            else:
                tx.update(c.after, c.before.version)
            tx.add_history(HistoryEntry(c.after.id, c.after.version, c.action, self.actor, now(),
                                        c.reason, memory_snapshot(c.before),
                                        memory_snapshot(c.after)), c.after.tenant)
        if plan.insert is not None:
            m = plan.insert
            tx.insert(m, vector)
            tx.add_history(HistoryEntry(m.id, m.version, "create", self.actor, now(), action,
                                        None, memory_snapshot(m)), m.tenant)
            for event, details in policy_audit(m):  # pending / redacted: ids and types only
                tx.append_audit(m.tenant, self.actor, event, [m.id], details)
        touched = [m.id for m in ([plan.insert] if plan.insert else [])]
        touched += [c.after.id for c in plan.changes]
        status = plan.insert.status if plan.insert else "unchanged"
        tx.append_audit(plan.insert.tenant if plan.insert else plan.changes[0].after.tenant,
                        self.actor, action, touched,
                        {"status": status, "changes": [c.action for c in plan.changes]})

    # -- reads -----------------------------------------------------------------------
    def get(self, id: str, *, user_id: str | None = None, agent_id: str | None = None,
            tenant: str | None = None) -> Memory:
        scope = self.scope(user_id, agent_id, None, tenant)
        with self.store.read() as tx:
            found = tx.get(scope, [v.check_id_field(id, "id") or ""])
        if not found:
            raise NotFound(f"no memory {id!r} in this scope")
        self._audit_read(scope.tenant, "get", [id], {}, scope=scope)
        return found[0]

    def list(self, *, user_id: str | None = None, agent_id: str | None = None,
             session_id: str | None = None, kinds: Sequence[str] | None = None,
             status: str | Sequence[str] | None = "active",
             filters: Mapping[str, Any] | None = None, limit: int = 50, cursor: str | None = None,
             order: str = "desc", tenant: str | None = None) -> Page:
        """Memories in scope, newest first, paginated by an opaque `cursor`."""
        scope = self.scope(user_id, agent_id, None, tenant)
        session = {"session_id": session_id} if session_id else {}
        f = v.parse_filters({**(filters or {}), **session}, kinds, status)
        if order not in ("asc", "desc"):
            raise InvalidInput("order must be 'asc' or 'desc'")
        limit = v.check_k(limit, self.settings.max_page_size)
        with self.store.read() as tx:
            items, nxt = tx.list(scope, ListQuery(f, limit, v.check_id_field(cursor, "cursor"),
                                                  order))
        self._audit_read(scope.tenant, "list", [m.id for m in items], {"n": len(items)},
                         scope=scope)
        return Page(items, nxt)

    def history(self, id: str, *, user_id: str | None = None,
                tenant: str | None = None) -> builtins.list[HistoryEntry]:
        scope = self.scope(user_id, None, None, tenant)
        with self.store.read() as tx:
            entries = tx.history(scope, id)
        self._audit_read(scope.tenant, "history", [id], {}, scope=scope)
        return entries

    def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, k: int = 10, kinds: Sequence[str] | None = None,
               filters: Mapping[str, Any] | None = None, as_of: Any = None,
               include_superseded: bool = False, tenant: str | None = None,
               now: Any = None) -> builtins.list[Hit]:
        """Hybrid search (keyword BM25 + vectors), fused and adjusted; active memories only
        unless `include_superseded` or `as_of` (what was believed true at that time).
        `now`: the time the question is asked at (default: the clock), from which recency
        and time words in the query ("last week") are measured; unlike `as_of` it filters
        nothing (replaying or evaluating old conversations)."""
        scope = self.scope(user_id, agent_id, session_id, tenant)
        v.check_content(query, self.settings.max_content_chars, "query")
        f = v.parse_filters(filters, kinds, None, as_of, include_superseded)
        hits = self.retriever.search(scope, query, v.check_k(k, self.settings.max_k), f,
                                     at=parse_time(now, "now"))
        self._audit_read(scope.tenant, "search", [h.id for h in hits], {"k": k}, touch=True,
                         scope=scope)
        return hits

    def _audit_read(self, tenant: str, action: str, ids: Sequence[str], details: dict[str, Any],
                    touch: bool = False, scope: Scope | None = None) -> None:
        """Audit a read: which ids it returned, by whom (the actor) and for whom (the
        scope's user/agent/session ids under "for"). Ids only, never content."""
        if not (self.settings.audit_reads or touch):
            return
        if scope is not None:
            who = {k: val for k, val in (("user_id", scope.user_id), ("agent_id",
                   scope.agent_id), ("session_id", scope.session_id)) if val is not None}
            details = {**details, "for": who}
        with self.store.write() as tx:
            if touch and ids:
                tx.touch(ids, now())
            if self.settings.audit_reads:
                tx.append_audit(tenant, self.actor, f"read.{action}", ids, details)

    # -- changes ---------------------------------------------------------------------
    def update(self, id: str, *, content: str | None = None, key: str | None = None,
               kind: str | None = None, confidence: float | None = None,
               importance: float | None = None, tags: Sequence[str] | None = None,
               metadata: Mapping[str, Any] | None = None, valid_from: Any = None,
               valid_to: Any = None, expected_version: int | None = None,
               reason: str | None = None, user_id: str | None = None,
               tenant: str | None = None) -> Memory:
        """Change a memory; a new version with a history row. `expected_version` makes a
        racing writer get `Conflict` instead of silently overwriting."""
        scope = self.scope(user_id, None, None, tenant)
        changes: dict[str, Any] = {}
        if content is not None:
            changes["content"] = v.check_content(content, self.settings.max_content_chars)
            changes["content_hash"] = content_hash(content)
        if key is not None:
            changes["key"] = v.check_id_field(key, "key")
        if kind is not None:
            changes["kind"] = v.check_kind(kind)
        if confidence is not None:
            changes["confidence"] = v.check_unit(confidence, "confidence")
        if importance is not None:
            changes["importance"] = v.check_unit(importance, "importance")
        if tags is not None:
            changes["tags"] = v.check_tags(tags)
        if metadata is not None:
            changes["metadata"] = v.check_metadata(metadata)
        for name, val in (("valid_from", valid_from), ("valid_to", valid_to)):
            if val is not None:
                changes[name] = v.check_time(val, name)
        if not changes:
            raise InvalidInput("nothing to update: pass content, key, kind, confidence, "
                               "importance, tags, metadata, valid_from or valid_to")
        return self._change(scope, id, changes, expected_version, "update", reason)

    def _change(self, scope: Scope, id: str, changes: dict[str, Any],
                expected_version: int | None, action: str, reason: str | None) -> Memory:
        new_text = changes.get("content")
        vector = None
        if new_text is not None:
            vector = StoredVector(self.embedder.name, self.embedder.embed([new_text])[0],
                                  changes["content_hash"])
        with self.store.write() as tx:
            found = tx.get(scope, [id])
            if not found or found[0].status == "deleted":
                raise NotFound(f"no memory {id!r} in this scope")
            old = found[0]
            if expected_version is not None and expected_version != old.version:
                from .errors import Conflict

                raise Conflict(f"memory {id!r} is at version {old.version}, not "
                               f"{expected_version}: re-read it and apply your change again")
            new = old.replace(**changes, version=old.version + 1, updated_at=now())
            tx.update(new, old.version, vector, reindex_text=new_text is not None)
            tx.add_history(HistoryEntry(id, new.version, action, self.actor, now(), reason,
                                        memory_snapshot(old), memory_snapshot(new)), old.tenant)
            tx.append_audit(old.tenant, self.actor, action, [id],
                            {"version": new.version, "fields": sorted(changes)})
        return new

    def delete(self, id: str, *, reason: str | None = None, user_id: str | None = None,
               tenant: str | None = None) -> Memory:
        """Erase one memory: its content leaves the row, history, vectors and keyword index;
        a content-free tombstone remains. Returns the tombstone."""
        from .governance import erase_ids

        scope = self.scope(user_id, None, None, tenant)
        receipt = erase_ids(self, scope, [id], {"memory_id": id}, reason or "delete")
        if receipt.counts.get("rows", 0) == 0:
            raise NotFound(f"no memory {id!r} in this scope")
        with self.store.read() as tx:
            return tx.get(scope, [id])[0]

    # -- governance / maintenance (implemented in their modules) ---------------------
    def forget(self, *, user_id: str | None = None, tenant: str | None = None,
               agent_id: str | None = None, session_id: str | None = None,
               tag: str | None = None, source: str | None = None,
               reason: str | None = None, scrub: bool = True) -> Any:
        """Erase every memory of a subject (filters combine; `tenant` alone: the whole
        tenant) and everything derived from it; returns an `ErasureReceipt`. `scrub`
        also rewrites the file so no fragment survives (O(database size); see
        docs/governance.md)."""
        from .governance import forget

        return forget(self, user_id=user_id, tenant=tenant, agent_id=agent_id,
                      session_id=session_id, tag=tag, source=source, reason=reason,
                      scrub_file=scrub)

    def scrub(self) -> dict[str, int]:
        """Rewrite the store so no fragment of erased content survives in the file
        (SQLite: FTS5 optimize, VACUUM, WAL truncated). `delete()` leaves this for later."""
        from .governance import scrub

        return scrub(self)

    def import_(self, records: Any, *, user_id: str | None = None, tenant: str | None = None,
                mode: str = "restore") -> dict[str, int]:
        """Import records made by `export()` (see `memvault.portability`): `mode="restore"`
        brings memories back as they were, `mode="new"` writes them as new `import`
        memories through the policy gate. Erased ids are never brought back."""
        from .portability import import_records

        return import_records(self, records, user_id=user_id, tenant=tenant, mode=mode)

    def export(self, *, user_id: str | None = None,
               tenant: str | None = None) -> builtins.list[dict[str, Any]]:
        from .governance import export

        return export(self, user_id=user_id, tenant=tenant)

    def context(self, query: str, *, user_id: str | None = None, session_id: str | None = None,
                agent_id: str | None = None, max_tokens: int = 1500,
                tenant: str | None = None, now: Any = None) -> Any:
        """The memories to put in a prompt for `query`, packed into `max_tokens` (a
        `memvault.context.Context`); `now` as in `search`."""
        from .context import build_context

        return build_context(self, query, user_id=user_id, session_id=session_id,
                             agent_id=agent_id, max_tokens=max_tokens, tenant=tenant,
                             now=parse_time(now, "now"))

    def profile(self, *, user_id: str | None = None, agent_id: str | None = None,
                tenant: str | None = None, abstractive: bool | None = None) -> Any:
        """The user's current facts and preferences grouped by key prefix (a
        `memvault.summaries.Profile`); prose from the LLM too when one is configured,
        unless `abstractive=False`."""
        from .summaries import profile

        return profile(self, user_id, agent_id, tenant, abstractive)

    def maintain(self, now: datetime | None = None, dry_run: bool = False) -> Any:
        from .maintenance import maintain

        return maintain(self, now=now, dry_run=dry_run)

    def reindex(self, batch: int = 256, progress: Any = None) -> int:
        """Re-embed memories whose vector is missing or was made by another model."""
        done = 0
        while True:
            todo = self.store.reindex_candidates(self.embedder.name, batch)
            if not todo:
                return done
            vectors = self._vectors(todo)
            with self.store.write() as tx:
                for m in todo:
                    tx.update(m, m.version, vectors[m.id])
            done += len(todo)
            if progress:
                progress(len(todo))
