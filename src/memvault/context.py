"""Context assembly: the memories to put in the next prompt, packed into a token budget.

`build_context` (behind `Vault.context`) gathers candidates, `memvault.contextpack` packs
and renders them (pure), `memvault.tokens` counts. See docs/context.md.

Candidates, by section (display order):

- **profile** - who the user is: the user's current (active) keyed facts and preferences
  (up to PROFILE_MAX), those matching the query first;
- **relevant** - search hits above the relevance floor (facts, events with their dates,
  instructions, turns of other sessions...), best first;
- **session** - the latest turns of this session (kind `message`, same `session_id`),
  oldest first;
- **summaries** - summaries of other sessions: those matching the query, then the latest.

Fill order (most useful first): tier 1 - the TOP_RELEVANT best hits, profile entries that
match the query, the SESSION_FIRST latest turns; tier 2 - the other hits and the rest of
the profile; tier 3 - older turns of this session and summaries. A candidate that does
not fit is skipped; smaller ones after it may still fit.

Nothing relevant - no hit above the floor and no turn in this session - gives
`Context(empty=True)` with the text "No relevant memories.": the profile and summaries are
never used as padding. Pending, superseded, expired and deleted memories are never served
(searches and lists read active rows only). The memories served are audited as one
`read.context` event and their access time is updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from . import validate as v
from ._util import now as _now
from .contextpack import Packed, Pick, is_relevant, pack
from .errors import InvalidInput
from .stores.base import Filters, ListQuery, ReadTx
from .tokens import TokenCounter, default_counter
from .types import Context, Hit, Memory, Scope

if TYPE_CHECKING:
    from .vault import Vault

CONTEXT_K = 30  # search hits considered
TOP_RELEVANT = 3  # best hits packed in the first tier
PROFILE_MAX = 15
PROFILE_READ = 500  # newest keyed facts/preferences read to choose the profile from
SESSION_MAX = 20  # latest turns of this session considered
SESSION_FIRST = 4  # the latest turns packed in the first tier
SUMMARY_MAX = 3
MAX_TOKENS_LIMIT = 100_000
PROFILE_KINDS = ("fact", "preference")


def build_context(vault: Vault, query: str, *, user_id: str | None = None,
                  session_id: str | None = None, agent_id: str | None = None,
                  max_tokens: int = 1500, tenant: str | None = None,
                  full_ids: bool = False, counter: TokenCounter | None = None,
                  now: datetime | None = None) -> Context:
    """The best memories for `query`, fenced as data, within `max_tokens` tokens.

    `full_ids=True` labels each memory in the text by its id (for tools that act on ids,
    e.g. MCP) instead of `[1]`, `[2]`... in the order of `Context.items`."""
    return assemble(vault, query, user_id=user_id, session_id=session_id, agent_id=agent_id,
                    max_tokens=max_tokens, tenant=tenant, full_ids=full_ids,
                    counter=counter, now=now).context


def check_budget(max_tokens: object) -> int:
    if (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
            or not 1 <= max_tokens <= MAX_TOKENS_LIMIT):
        raise InvalidInput(f"max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT}, "
                           f"got {max_tokens!r}")
    return max_tokens


def assemble(vault: Vault, query: str, *, user_id: str | None = None,
             session_id: str | None = None, agent_id: str | None = None,
             max_tokens: int = 1500, tenant: str | None = None, full_ids: bool = False,
             counter: TokenCounter | None = None, now: datetime | None = None) -> Packed:
    """`build_context` with the chosen picks (their memories) alongside the context."""
    scope = vault.scope(user_id, agent_id, None, tenant)
    session = v.check_id_field(session_id, "session_id")
    v.check_content(query, vault.settings.max_content_chars, "query")
    budget = check_budget(max_tokens)
    at = now or _now()
    hits = vault.retriever.search(scope, query, CONTEXT_K, Filters(), at=at)
    with vault.store.read() as tx:
        profile = read_profile(tx, scope)
        turns = read_turns(tx, scope, session)
        summaries = read_summaries(tx, scope)
        picks = choose(hits, profile, turns, summaries, scope.user_id, session)
        conflicts = find_conflicts(tx, scope, [p.memory for p in picks])
    packed = pack(picks, budget, (counter or default_counter()).count, at, conflicts,
                  full_ids)
    ids = [i.id for i in packed.context.items]
    vault._audit_read(scope.tenant, "context", ids,
                      {"n": len(ids), "tokens": packed.context.tokens}, touch=True,
                      scope=scope)
    return packed


# -- reads -------------------------------------------------------------------------------
def read_profile(tx: ReadTx, scope: Scope) -> list[Memory]:
    """The owner's current keyed facts and preferences (the user's own; with no user,
    the shared workspace's)."""
    f = Filters(kinds=PROFILE_KINDS, user_only=scope.user_id is not None)
    rows, _ = tx.list(scope, ListQuery(f, PROFILE_READ))
    return [m for m in rows if m.key and m.user_id == scope.user_id]


def read_turns(tx: ReadTx, scope: Scope, session_id: str | None) -> list[Memory]:
    """The latest turns of the session, newest first."""
    if session_id is None:
        return []
    rows, _ = tx.list(scope, ListQuery(Filters(kinds=("message",), session_id=session_id),
                                       SESSION_MAX))
    return rows


def read_summaries(tx: ReadTx, scope: Scope) -> list[Memory]:
    rows, _ = tx.list(scope, ListQuery(Filters(kinds=("summary",)), 10))
    return rows


def find_conflicts(tx: ReadTx, scope: Scope,
                   memories: Sequence[Memory]) -> dict[str, tuple[str, ...]]:
    """For each memory, the active memories in scope it conflicts with: those flagged in
    `metadata["conflict_with"]`, and other active memories with the same key whose owners
    overlap (same user or shared, same agent or agent-less)."""
    out: dict[str, set[str]] = {}
    flagged = {m.id: [str(i) for i in m.metadata.get("conflict_with") or ()
                      if isinstance(i, str)] for m in memories}
    wanted = sorted({i for ids in flagged.values() for i in ids})
    alive = {m.id for m in tx.get(scope, wanted) if m.status == "active"} if wanted else set()
    for mid, ids in flagged.items():
        for other in ids:
            if other in alive and other != mid:
                out.setdefault(mid, set()).add(other)
    for key in sorted({m.key for m in memories if m.key and m.kind in PROFILE_KINDS
                       + ("event", "instruction")}):
        rows, _ = tx.list(scope, ListQuery(Filters(key=key), 20))
        for m in memories:
            if m.key != key:
                continue
            for r in rows:
                if r.id != m.id and r.kind != "message" and _overlap(m, r):
                    out.setdefault(m.id, set()).add(r.id)
    return {mid: tuple(sorted(ids)) for mid, ids in out.items()}


def _overlap(a: Memory, b: Memory) -> bool:
    users = a.user_id == b.user_id or a.user_id is None or b.user_id is None
    agents = a.agent_id == b.agent_id or a.agent_id is None or b.agent_id is None
    return users and agents


# -- choosing (pure) ---------------------------------------------------------------------
def is_profile(m: Memory, user_id: str | None) -> bool:
    return m.kind in PROFILE_KINDS and bool(m.key) and m.user_id == user_id


def why_hit(h: Hit) -> str:
    s = h.signals
    return f"matched query (vector {s.get('vector', 0.0):.2f}, keyword {s.get('keyword', 0.0):.2f})"


def choose(hits: Sequence[Hit], profile: Sequence[Memory], turns: Sequence[Memory],
           summaries: Sequence[Memory], user_id: str | None,
           session_id: str | None) -> list[Pick]:
    """Candidates with their sections, reasons and fill priorities; none at all when
    nothing relevant is remembered. Pure."""
    relevant = [h for h in hits if h.memory.status == "active"
                and is_relevant(h.signals, is_profile(h.memory, user_id))]
    turns = [m for m in turns if m.status == "active"]
    if not relevant and not turns:
        return []
    recent = {m.id for m in turns}
    matched = {h.memory.id: h for h in relevant}
    picks = [_hit_pick(h, i, user_id, session_id) for i, h in enumerate(
        [h for h in relevant if h.memory.id not in recent])]
    for i, m in enumerate(turns):  # newest first
        why = "recent turn in this session"
        if m.id in matched:
            why += "; " + why_hit(matched[m.id])
        picks.append(Pick(m, "session", why, 1 if i < SESSION_FIRST else 3, -float(i)))
    standing = [m for m in profile if m.id not in matched and m.status == "active"]
    standing.sort(key=lambda m: (m.importance, m.confidence, m.id), reverse=True)
    picks += [Pick(m, "profile", f"profile: current {m.kind} for key {m.key}", 2,
                   0.3 + 0.2 * m.importance + 0.1 * m.confidence)
              for m in standing[:PROFILE_MAX]]
    older = [m for m in summaries if m.id not in matched and m.status == "active"
             and m.session_id != session_id]
    picks += [Pick(m, "summaries", "summary of an earlier session (latest first)", 3,
                   -float(i)) for i, m in enumerate(older[:SUMMARY_MAX])]
    return picks


def _hit_pick(h: Hit, rank: int, user_id: str | None, session_id: str | None) -> Pick:
    m = h.memory
    why = why_hit(h)
    if is_profile(m, user_id):
        return Pick(m, "profile", why, 1, h.score, h.score)
    if m.kind == "summary":
        return Pick(m, "summaries", why, 1 if rank < TOP_RELEVANT else 3, h.score, h.score)
    if m.kind == "message" and session_id and m.session_id == session_id:
        why += "; earlier in this session"
    return Pick(m, "relevant", why, 1 if rank < TOP_RELEVANT else 2, h.score, h.score)


__all__ = ["assemble", "build_context", "check_budget", "choose", "find_conflicts"]
