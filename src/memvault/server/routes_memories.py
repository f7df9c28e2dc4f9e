"""Memories: add messages, remember, search, context, list, get, update, delete, history.

Every route takes the tenant from the key and the user from `Principal.user` (a
user-scoped key is always its own user). Provenance is set here, never from the body:
`remember` is `user` for user keys, `tool` for writer keys, `admin` for admin keys; on the
messages route each turn's role decides (system turns need an admin key).
"""

from __future__ import annotations

import importlib
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Query

from ..errors import Forbidden
from ..types import Hit
from .auth import READ, REMEMBER_SOURCE, WRITE
from .deps import Caller, MemoryId, visible
from .errors import NotAvailable
from .models import AddIn, ContextIn, Id, Kind, Reason, RememberIn, SearchIn, Tag, UpdateIn
from .openapi import error_responses
from .outputs import AddOut, ContextOut, HistoryOut, HitOut, MemoryOut, PageOut, SearchOut

router = APIRouter(prefix="/v1", tags=["memories"], responses=error_responses())

StatusParam = Literal["active", "pending", "superseded", "expired", "deleted", "any"]
_PRIVATE_STATUSES = {"pending", "any"}  # unreviewed content: admins and the user themself


@router.post("/messages", status_code=201, summary="Add conversation turns")
def add_messages(body: AddIn, c: Caller) -> AddOut:
    """Store turns as `message` memories and (with `infer`) what the extractor finds in
    them, in one transaction. Provenance follows each turn's role."""
    c.who.need(WRITE, "add memories")
    if c.who.role != "admin" and any(m.role == "system" for m in body.messages):
        raise Forbidden("only an admin key may add system turns (they carry admin provenance)")
    result = c.vault.add(
        [m.model_dump(exclude_none=True) for m in body.messages],
        user_id=c.who.user(body.user_id), agent_id=body.agent_id, session_id=body.session_id,
        infer=body.infer, timestamp=body.timestamp, metadata=body.metadata, tenant=c.tenant,
        background=body.background,
    )
    c.metrics.wrote(result.memories + result.pending)
    return AddOut.of(result)


@router.post("/memories", status_code=201, summary="Remember one memory")
def remember(body: RememberIn, c: Caller) -> MemoryOut:
    c.who.need(WRITE, "write memories")
    m = c.vault.remember(
        body.content, user_id=c.who.user(body.user_id), agent_id=body.agent_id,
        session_id=body.session_id, kind=body.kind, key=body.key, confidence=body.confidence,
        importance=body.importance, sensitivity=body.sensitivity, tags=body.tags,
        metadata=body.metadata, ttl=body.ttl, valid_from=body.valid_from,
        valid_to=body.valid_to, source=REMEMBER_SOURCE[c.who.role], sources=body.sources or (),
        tenant=c.tenant,
    )
    c.metrics.wrote([m])
    return MemoryOut.of(m)


@router.post("/search", summary="Hybrid search")
def search(body: SearchIn, c: Caller) -> SearchOut:
    """Keyword (BM25) and vector candidates, fused and adjusted; active memories only
    unless `include_superseded` or `as_of`."""
    c.who.need(READ, "search")
    hits = c.vault.search(
        body.query, user_id=c.who.user(body.user_id), agent_id=body.agent_id,
        session_id=body.session_id, k=body.k, kinds=body.kinds,
        filters=body.filters.to_dict() if body.filters else None, as_of=body.as_of,
        include_superseded=body.include_superseded, tenant=c.tenant, now=body.now,
    )
    c.metrics.searches.labels(kind="search").inc()
    return SearchOut(hits=[HitOut.of(h) for h in cast("list[Hit]", hits)])


@router.post("/context", summary="Build prompt context", responses=error_responses(501))
def context(body: ContextIn, c: Caller) -> ContextOut:
    """The best memories packed into a token budget, grouped and fenced as data."""
    c.who.need(READ, "read memories")
    user_id = c.who.user(body.user_id)
    if not hasattr(importlib.import_module("memvault.context"), "build_context"):
        raise NotAvailable("context assembly is not available in this build")
    out = c.vault.context(body.query, user_id=user_id,
                          session_id=body.session_id, agent_id=body.agent_id,
                          max_tokens=body.max_tokens, tenant=c.tenant, now=body.now)
    c.metrics.searches.labels(kind="context").inc()
    return ContextOut.of(out)


@router.get("/memories", summary="List memories")
def list_memories(
    c: Caller,
    user_id: Annotated[Id, Query()] = None,  # type: ignore[assignment]
    agent_id: Annotated[Id, Query()] = None,  # type: ignore[assignment]
    session_id: Annotated[Id, Query()] = None,  # type: ignore[assignment]
    kind: Annotated[list[Kind], Query(description="repeat for several")] = None,  # type: ignore[assignment]
    status: Annotated[list[StatusParam], Query(description="default active")] = None,  # type: ignore[assignment]
    tag: Annotated[list[Tag], Query(description="any of these tags")] = None,  # type: ignore[assignment]
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Annotated[Id, Query(description="next_cursor of the previous page")] = None,  # type: ignore[assignment]
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> PageOut:
    """Newest first (by default), paginated by an opaque cursor."""
    c.who.need(READ, "read memories")
    statuses = list(status or ["active"])
    if _PRIVATE_STATUSES & set(statuses) and c.who.role not in ("admin", "user"):
        raise Forbidden("pending memories are visible to admin keys and their own user only")
    page = c.vault.list(
        user_id=c.who.user(user_id), agent_id=agent_id, session_id=session_id, kinds=kind,
        status="any" if "any" in statuses else statuses,
        filters={"tags": tag} if tag else None, limit=limit, cursor=cursor, order=order,
        tenant=c.tenant,
    )
    return PageOut.of(page)


@router.get("/memories/{id}", summary="Get one memory")
def get_memory(
    id: MemoryId, c: Caller,
    user_id: Annotated[Id, Query(description="read as this user")] = None,  # type: ignore[assignment]
    agent_id: Annotated[Id, Query(description="read as this agent")] = None,  # type: ignore[assignment]
) -> MemoryOut:
    c.who.need(READ, "read memories")
    return MemoryOut.of(c.vault.get(id, user_id=c.who.user(user_id), agent_id=agent_id,
                                    tenant=c.tenant))


@router.patch("/memories/{id}", summary="Update a memory")
def update_memory(id: MemoryId, body: UpdateIn, c: Caller) -> MemoryOut:
    """A new version with a history row; with `expected_version`, a stale write gets 409."""
    c.who.need(WRITE, "change memories")
    visible(c, id, for_change=True)
    m = c.vault.update(id, **body.changes(), expected_version=body.expected_version,
                       reason=body.reason, user_id=c.who.user(None), tenant=c.tenant)
    c.metrics.wrote([m])
    return MemoryOut.of(m)


@router.delete("/memories/{id}", summary="Delete (erase) a memory")
def delete_memory(
    id: MemoryId, c: Caller,
    reason: Annotated[Reason, Query()] = None,  # type: ignore[assignment]
) -> MemoryOut:
    """Its content leaves the row, history, vectors and keyword index; a content-free
    tombstone remains and is returned."""
    c.who.need(WRITE, "delete memories")
    visible(c, id, for_change=True)
    return MemoryOut.of(c.vault.delete(id, reason=reason, user_id=c.who.user(None),
                                       tenant=c.tenant))


@router.get("/memories/{id}/history", summary="History of a memory")
def history(id: MemoryId, c: Caller) -> HistoryOut:
    c.who.need(READ, "read memories")
    return HistoryOut.of(c.vault.history(id, user_id=c.who.user(None), tenant=c.tenant))
