"""`memvault` — the command line, mirroring the library.

    memvault remember "Alice is vegetarian" --user alice --kind preference --key user.diet
    memvault search "what does alice eat?" --user alice --json
    memvault import-messages chat.jsonl --user alice

Global options (before the command): --db URL|PATH, --embedder local|hash, --json, --tenant.
User errors print one red line on stderr and exit with the error's `exit_code`.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape

from . import _cli_render as render
from ._cli_common import (
    AgentOpt,
    JsonOpt,
    MemvaultGroup,
    SessionOpt,
    State,
    TenantOpt,
    UserOpt,
    YesOpt,
    emit,
    emit_lines,
    err,
    open_vault,
    out,
    parse_json_object,
    progress_bar,
    want_json,
)
from ._cli_io import parse_messages, read_text
from .errors import InvalidInput, MemvaultError

app = typer.Typer(
    cls=MemvaultGroup, name="memvault", no_args_is_help=True, add_completion=False,
    help="memvault: a persistent, governed memory for AI assistants and agents.",
    pretty_exceptions_enable=False, rich_markup_mode="rich",
)


class EmbedderName(StrEnum):
    local = "local"
    hash = "hash"


def _version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"memvault {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", help="Storage URL (sqlite:///path.db, :memory:, postgresql://...) or a "
                     "SQLite file path. Default: memvault.db in the data dir.")] = None,
    embedder: Annotated[EmbedderName | None, typer.Option(
        "--embedder", help="Embedding model: local (offline sentence-transformers) or hash "
                           "(tiny, deterministic, for tests).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant (workspace).")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of unexpected errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = State(db=db, embedder=embedder.value if embedder else None, json=as_json,
                    tenant=tenant, debug=debug)


# -- writes -------------------------------------------------------------------------
@app.command()
def add(
    ctx: typer.Context,
    messages: Annotated[list[str] | None, typer.Argument(
        help="Message texts (each one message). Omit to read --file or stdin.")] = None,
    file: Annotated[str | None, typer.Option(
        "--file", "-f", help="JSON or JSON-lines file of {role, content, ...} ('-' = stdin).")
    ] = None,
    role: Annotated[str, typer.Option(help="Role of messages given as text.")] = "user",
    user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    tenant: TenantOpt = None,
    infer: Annotated[bool, typer.Option(
        "--infer/--no-infer", help="Extract facts/preferences/events, or store only the "
                                   "messages.")] = True,
    timestamp: Annotated[str | None, typer.Option(
        help="Event time (ISO-8601) for messages that carry none.")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object stored on each message.")
                        ] = None,
    source: Annotated[str | None, typer.Option(
        help="Provenance (user, assistant, import, tool, ...); default: from each role.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add conversation turns: stored as messages, and (with inference) the memories in them."""
    if messages:
        msgs: list[Any] = [{"role": role, "content": text} for text in messages]
    elif file is not None:
        msgs = parse_messages(read_text(file), file, plain_ok=True, role=role)
    elif not sys.stdin.isatty():
        msgs = parse_messages(sys.stdin.read(), "stdin", plain_ok=True, role=role)
    else:
        raise InvalidInput("no messages: give them as arguments, with --file FILE, or on stdin")
    meta = parse_json_object(metadata, "--metadata")
    with open_vault(ctx, tenant) as vault:
        r = vault.add(msgs, user_id=user, agent_id=agent, session_id=session, infer=infer,
                      timestamp=timestamp, metadata=meta, source=source)
    if want_json(ctx, as_json):
        emit({"memories": [m.to_dict() for m in r.memories],
              "pending": [m.to_dict() for m in r.pending],
              "superseded": [m.to_dict() for m in r.superseded], "warnings": r.warnings})
    else:
        render.add_result(r)


@app.command()
def remember(
    ctx: typer.Context,
    content: Annotated[str, typer.Argument(help="The memory, in plain words.")],
    kind: Annotated[str, typer.Option(
        help="fact, preference, event, instruction, summary or message.")] = "fact",
    key: Annotated[str | None, typer.Option(
        help="Slot such as user.location: a newer memory with the same key supersedes.")
    ] = None,
    user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    tenant: TenantOpt = None,
    confidence: Annotated[float, typer.Option(help="0..1")] = 1.0,
    importance: Annotated[float, typer.Option(help="0..1")] = 0.5,
    sensitivity: Annotated[str, typer.Option(help="none, pii, secret, health, financial")
                           ] = "none",
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")
                   ] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object.")] = None,
    ttl: Annotated[float | None, typer.Option(help="Expire after this many seconds.")] = None,
    valid_from: Annotated[str | None, typer.Option(help="When it became true (ISO-8601).")
                          ] = None,
    valid_to: Annotated[str | None, typer.Option(help="When it stopped being true.")] = None,
    source: Annotated[str, typer.Option(help="Provenance: user, tool, import, admin, ...")
                      ] = "user",
    as_json: JsonOpt = False,
) -> None:
    """Store one memory directly."""
    meta = parse_json_object(metadata, "--metadata")
    with open_vault(ctx, tenant) as vault:
        m = vault.remember(content, user_id=user, agent_id=agent, session_id=session, kind=kind,
                           key=key, confidence=confidence, importance=importance,
                           sensitivity=sensitivity, tags=tag or None, metadata=meta, ttl=ttl,
                           valid_from=valid_from, valid_to=valid_to, source=source)
    if want_json(ctx, as_json):
        emit(m.to_dict())
    else:
        render.memory(m)


# -- reads --------------------------------------------------------------------------
def _filters(tag: list[str] | None, key: str | None = None, since: str | None = None,
             until: str | None = None, metadata: str | None = None) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if tag:
        f["tags"] = tag
    if key:
        f["key"] = key
    if since:
        f["since"] = since
    if until:
        f["until"] = until
    meta = parse_json_object(metadata, "--metadata")
    if meta:
        f["metadata"] = meta
    return f


TagFilter = Annotated[list[str] | None, typer.Option(
    "--tag", "-t", help="Only memories with this tag (repeatable: any of them).")]
KindFilter = Annotated[list[str] | None, typer.Option(
    "--kind", help="Only this kind (repeatable).")]


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    tenant: TenantOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many hits.")] = 10,
    kind: KindFilter = None, tag: TagFilter = None,
    key: Annotated[str | None, typer.Option(help="Only memories with this key.")] = None,
    since: Annotated[str | None, typer.Option(help="Event time from (ISO-8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Event time before (ISO-8601).")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object: metadata equality.")
                        ] = None,
    as_of: Annotated[str | None, typer.Option(
        help="What was believed true at this time (ISO-8601).")] = None,
    include_superseded: Annotated[bool, typer.Option(
        help="Also return superseded memories.")] = False,
    now: Annotated[str | None, typer.Option(
        help="The time the question is asked at (ISO-8601; default: the clock): recency "
             "and time words are measured from it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hybrid search (keyword + vector), best first; JSON lines with --json."""
    with open_vault(ctx, tenant) as vault:
        found = vault.search(query, user_id=user, agent_id=agent, session_id=session, k=k,
                             kinds=kind or None,
                             filters=_filters(tag, key, since, until, metadata) or None,
                             as_of=as_of, include_superseded=include_superseded, now=now)
    if want_json(ctx, as_json):
        emit_lines({"id": h.id, "score": h.score, "signals": h.signals,
                    "memory": h.memory.to_dict()} for h in found)
    else:
        render.hits(found)


@app.command()
def context(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What the next prompt is about.")],
    user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    tenant: TenantOpt = None,
    max_tokens: Annotated[int, typer.Option(help="Token budget for the whole context.")
                          ] = 1500,
    as_json: JsonOpt = False,
) -> None:
    """The memories to put in a prompt, packed into a token budget, with warnings."""
    with open_vault(ctx, tenant) as vault:
        try:
            built = vault.context(query, user_id=user, agent_id=agent, session_id=session,
                                  max_tokens=max_tokens)
        except ImportError as exc:
            raise MemvaultError(f"context assembly cannot be loaded: {exc}") from exc
    if want_json(ctx, as_json):
        import dataclasses

        emit(dataclasses.asdict(built))
        return
    sys.stdout.write(built.text.rstrip("\n") + "\n")
    for w in built.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(w)}")
    err.print(f"[dim]{built.tokens} tokens, {len(built.items)} memories[/dim]")


@app.command("list")
def list_(
    ctx: typer.Context,
    user: UserOpt = None, agent: AgentOpt = None, session: SessionOpt = None,
    tenant: TenantOpt = None, kind: KindFilter = None, tag: TagFilter = None,
    status: Annotated[str, typer.Option(
        help="active, pending, superseded, expired, deleted, comma-separated, or any.")
    ] = "active",
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor printed by the previous page.")
                      ] = None,
    order: Annotated[str, typer.Option(help="desc (newest first) or asc.")] = "desc",
    as_json: JsonOpt = False,
) -> None:
    """List memories in a scope, newest first, one page at a time."""
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    with open_vault(ctx, tenant) as vault:
        page = vault.list(user_id=user, agent_id=agent, session_id=session, kinds=kind or None,
                          status=statuses[0] if len(statuses) == 1 else statuses,
                          filters=_filters(tag) or None, limit=limit, cursor=cursor,
                          order=order)
    if want_json(ctx, as_json):
        emit({"items": [m.to_dict() for m in page.items], "next_cursor": page.next_cursor})
        return
    render.memories(page.items)
    if page.next_cursor:
        out.print(f"[dim]more: memvault list --cursor {page.next_cursor} ...[/dim]")


@app.command()
def show(
    ctx: typer.Context, id: Annotated[str, typer.Argument(help="Memory id.")],
    user: UserOpt = None, tenant: TenantOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show one memory with all its fields."""
    with open_vault(ctx, tenant) as vault:
        m = vault.get(id, user_id=user)
    if want_json(ctx, as_json):
        emit(m.to_dict())
    else:
        render.memory(m)


@app.command()
def history(
    ctx: typer.Context, id: Annotated[str, typer.Argument(help="Memory id.")],
    user: UserOpt = None, tenant: TenantOpt = None, as_json: JsonOpt = False,
) -> None:
    """Every change to a memory: who, when, why, before and after."""
    with open_vault(ctx, tenant) as vault:
        vault.get(id, user_id=user)  # NotFound rather than an empty history
        entries = vault.history(id, user_id=user)
    if want_json(ctx, as_json):
        emit_lines(h.to_dict() for h in entries)
    else:
        render.history(entries)


# -- changes ------------------------------------------------------------------------
@app.command()
def edit(
    ctx: typer.Context, id: Annotated[str, typer.Argument(help="Memory id.")],
    content: Annotated[str | None, typer.Option(help="New text.")] = None,
    key: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    confidence: Annotated[float | None, typer.Option(help="0..1")] = None,
    importance: Annotated[float | None, typer.Option(help="0..1")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", "-t", help="Replace the tags (repeatable).")] = None,
    metadata: Annotated[str | None, typer.Option(help="Replace metadata (JSON object).")
                        ] = None,
    valid_from: Annotated[str | None, typer.Option()] = None,
    valid_to: Annotated[str | None, typer.Option()] = None,
    expected_version: Annotated[int | None, typer.Option(
        help="Fail with a conflict if the memory is no longer at this version.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    user: UserOpt = None, tenant: TenantOpt = None, as_json: JsonOpt = False,
) -> None:
    """Change a memory: a new version, with a history row."""
    with open_vault(ctx, tenant) as vault:
        m = vault.update(id, content=content, key=key, kind=kind, confidence=confidence,
                         importance=importance, tags=tag,
                         metadata=parse_json_object(metadata, "--metadata"),
                         valid_from=valid_from, valid_to=valid_to,
                         expected_version=expected_version, reason=reason, user_id=user)
    if want_json(ctx, as_json):
        emit(m.to_dict())
    else:
        render.memory(m)


@app.command()
def delete(
    ctx: typer.Context, id: Annotated[str, typer.Argument(help="Memory id.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    yes: YesOpt = False, user: UserOpt = None, tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase one memory: its content leaves every copy; a content-free tombstone remains."""
    with open_vault(ctx, tenant) as vault:
        m = vault.get(id, user_id=user)
        if not yes:
            typer.confirm(f"Erase memory {id} ({render.short(m.content, 60)!r})? "
                          "This cannot be undone", abort=True, err=True)
        tomb = vault.delete(id, reason=reason, user_id=user)
    if want_json(ctx, as_json):
        emit(tomb.to_dict())
    else:
        out.print(f"[green]Erased[/green] {id}; a content-free tombstone remains.")


@app.command()
def reindex(
    ctx: typer.Context,
    batch: Annotated[int, typer.Option(help="Memories embedded per batch.")] = 256,
    as_json: JsonOpt = False,
) -> None:
    """Re-embed memories whose vector is missing or was made by another embedder."""
    with open_vault(ctx) as vault, progress_bar() as bar:
        task = bar.add_task(f"re-embedding with {vault.embedder.name}", total=None)
        done = vault.reindex(batch=batch, progress=lambda n: bar.advance(task, n))
        bar.update(task, total=done, completed=done)
    if want_json(ctx, as_json):
        emit({"reindexed": done})
    else:
        out.print(f"Re-embedded {done} memories.")


def _register_more() -> None:
    from . import _cli_admin, _cli_ops

    _cli_admin.register(app)
    _cli_ops.register(app)


_register_more()


def main() -> None:
    """Console entry point (`memvault`)."""
    app(prog_name="memvault")


if __name__ == "__main__":
    main()
