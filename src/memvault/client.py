"""`memvault.Client`: a remote vault over HTTP with the same methods as `memvault.Vault`.

    vault = memvault.open()                                   # embedded
    vault = memvault.Client("http://127.0.0.1:8420", "mvk_...")  # remote, same calls

Returns the same records (`Memory`, `Hit`, `Page`, `AddResult`, `ErasureReceipt`, ...) and
raises the same `MemvaultError` subclasses, chosen by the JSON error's `code`. Over HTTP
the server sets tenant and provenance from the API key, so `tenant=` and `source=` are not
parameters here.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import httpx

from . import errors as E
from ._util import from_iso, parse_time
from .types import (
    AddResult,
    AuditEvent,
    Context,
    ContextItem,
    ErasureReceipt,
    HistoryEntry,
    Hit,
    MaintenanceReport,
    Memory,
    Page,
    VerifyResult,
)

_ERRORS: dict[str, type[E.MemvaultError]] = {
    cls.code: cls for cls in (E.InvalidInput, E.ConfigError, E.NotFound, E.Conflict,
                              E.Forbidden, E.Unauthorized, E.PolicyViolation, E.TooLarge,
                              E.RateLimited, E.StoreError, E.IntegrityError)
}
_BY_STATUS: dict[int, type[E.MemvaultError]] = {
    401: E.Unauthorized, 403: E.Forbidden, 404: E.NotFound, 409: E.Conflict, 413: E.TooLarge,
    422: E.InvalidInput, 429: E.RateLimited, 503: E.StoreError,
}
_MEMORY_FIELDS = frozenset(f.name for f in fields(Memory))
_TIMES = ("valid_from", "valid_to", "created_at", "updated_at", "expires_at",
          "last_accessed_at")


def _time(value: Any, what: str = "time") -> str | None:
    """Whatever the library accepts (datetime, ISO text, epoch seconds) -> RFC 3339 UTC."""
    parsed = parse_time(value, what)
    return parsed.isoformat().replace("+00:00", "Z") if parsed is not None else None


def _clean(**fields: Any) -> dict[str, Any]:
    """Omit what was not given (the server rejects nulls); tuples become lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()
            if v is not None}


def memory_from(d: Mapping[str, Any]) -> Memory:
    data = dict(d)
    data.pop("type", None)
    for name in _TIMES:
        data[name] = from_iso(data.get(name))
    data["sources"] = tuple(data.get("sources") or ())
    data["tags"] = tuple(data.get("tags") or ())
    return Memory(**{k: v for k, v in data.items() if k in _MEMORY_FIELDS})


def _messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, str | Mapping):
        messages = [messages]
    if not isinstance(messages, Sequence):
        raise E.InvalidInput("messages must be a non-empty string or list of {role, content}")
    out = []
    for msg in messages:
        if isinstance(msg, str):
            msg = {"role": "user", "content": msg}
        if not isinstance(msg, Mapping):
            raise E.InvalidInput("each message must be a dict with role and content")
        out.append({k: (_time(v) if k == "timestamp" else v) for k, v in msg.items()
                    if v is not None})
    return out


class _Review:
    def __init__(self, client: Client) -> None:
        self._c = client

    def pending(self, *, user_id: str | None = None, limit: int = 100) -> list[Memory]:
        data = self._c._call("GET", "/v1/review", params=_clean(user_id=user_id, limit=limit))
        return [memory_from(m) for m in data["items"]]

    def approve(self, id: str, *, reason: str | None = None, content: str | None = None,
                reviewer: str | None = None) -> Memory:
        """`reviewer` is accepted for parity; the server records the calling key."""
        body = _clean(reason=reason, content=content)
        return memory_from(self._c._call("POST", f"/v1/review/{_seg(id)}/approve", json=body))

    def reject(self, id: str, *, reason: str | None = None,
               reviewer: str | None = None) -> Memory:
        body = _clean(reason=reason)
        return memory_from(self._c._call("POST", f"/v1/review/{_seg(id)}/reject", json=body))


class _Audit:
    def __init__(self, client: Client) -> None:
        self._c = client

    def events(self, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        while len(out) < limit:
            params = {"after_seq": after_seq, "limit": min(1000, limit - len(out))}
            data = self._c._call("GET", "/v1/audit/events", params=params)
            out += [AuditEvent(e["seq"], from_iso(e["at"]), e["tenant"], e["actor"],  # type: ignore[arg-type]
                               e["action"], tuple(e["target_ids"]), e["details"],
                               e["prev_hash"], e["hash"]) for e in data["items"]]
            if data.get("next_after_seq") is None:
                break
            after_seq = data["next_after_seq"]
        return out

    def verify(self) -> VerifyResult:
        return VerifyResult(**self._c._call("GET", "/v1/audit/verify"))


def _seg(id: str) -> str:
    from urllib.parse import quote

    return quote(str(id), safe="")


class Client:
    """A remote vault. Thread-safe (one pooled httpx.Client); use as a context manager or
    call `close()`."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}",
                                           "User-Agent": "memvault-client"})

    # -- plumbing ------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def review(self) -> _Review:
        return _Review(self)

    @property
    def audit(self) -> _Audit:
        return _Audit(self)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise E.StoreError(f"the memvault server at {self.url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise E.StoreError(f"cannot reach the memvault server at {self.url}: "
                               f"{type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise _error(resp)
        return resp

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    # -- writes --------------------------------------------------------------------
    def add(self, messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, infer: bool = True, timestamp: Any = None,
            metadata: Mapping[str, Any] | None = None, background: bool = False) -> AddResult:
        body = _clean(messages=_messages(messages), user_id=user_id, agent_id=agent_id,
                      session_id=session_id, infer=infer, timestamp=_time(timestamp),
                      metadata=metadata, background=background or None)
        data = self._call("POST", "/v1/messages", json=body)
        return AddResult([memory_from(m) for m in data["memories"]],
                         [memory_from(m) for m in data["pending"]],
                         [memory_from(m) for m in data["superseded"]], list(data["warnings"]))

    def remember(self, content: str, *, user_id: str | None = None, agent_id: str | None = None,
                 session_id: str | None = None, kind: str = "fact", key: str | None = None,
                 confidence: float = 1.0, importance: float = 0.5, sensitivity: str = "none",
                 tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
                 ttl: float | None = None, valid_from: Any = None, valid_to: Any = None,
                 sources: Sequence[str] = ()) -> Memory:
        body = _clean(content=content, user_id=user_id, agent_id=agent_id,
                      session_id=session_id, kind=kind, key=key, confidence=confidence,
                      importance=importance, sensitivity=sensitivity,
                      tags=list(tags) if tags is not None else None, metadata=metadata,
                      ttl=ttl, valid_from=_time(valid_from), valid_to=_time(valid_to),
                      sources=list(sources) or None)
        return memory_from(self._call("POST", "/v1/memories", json=body))

    def update(self, id: str, *, content: str | None = None, key: str | None = None,
               kind: str | None = None, confidence: float | None = None,
               importance: float | None = None, tags: Sequence[str] | None = None,
               metadata: Mapping[str, Any] | None = None, valid_from: Any = None,
               valid_to: Any = None, expected_version: int | None = None,
               reason: str | None = None) -> Memory:
        body = _clean(content=content, key=key, kind=kind, confidence=confidence,
                      importance=importance, tags=list(tags) if tags is not None else None,
                      metadata=metadata, valid_from=_time(valid_from),
                      valid_to=_time(valid_to), expected_version=expected_version,
                      reason=reason)
        if not set(body) - {"expected_version", "reason"}:
            raise E.InvalidInput("nothing to update: pass content, key, kind, confidence, "
                                 "importance, tags, metadata, valid_from or valid_to")
        return memory_from(self._call("PATCH", f"/v1/memories/{_seg(id)}", json=body))

    def delete(self, id: str, *, reason: str | None = None) -> Memory:
        data = self._call("DELETE", f"/v1/memories/{_seg(id)}", params=_clean(reason=reason))
        return memory_from(data)

    def forget(self, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, tag: str | None = None,
               source: str | None = None, reason: str | None = None) -> ErasureReceipt:
        body = _clean(user_id=user_id, agent_id=agent_id, session_id=session_id, tag=tag,
                      source=source, reason=reason)
        if not set(body) - {"reason"}:
            raise E.InvalidInput("forget needs a subject: user_id, agent_id, session_id, "
                                 "tag or source")
        d = self._call("POST", "/v1/forget", json=body)
        return ErasureReceipt(d["id"], from_iso(d["at"]), d["subject"], d["counts"],  # type: ignore[arg-type]
                              d["memory_ids_hash"], d["hash"])

    def maintain(self, dry_run: bool = False) -> MaintenanceReport:
        return MaintenanceReport(**self._call("POST", "/v1/maintain", json={"dry_run": dry_run}))

    # -- reads ---------------------------------------------------------------------
    def get(self, id: str, *, user_id: str | None = None,
            agent_id: str | None = None) -> Memory:
        params = _clean(user_id=user_id, agent_id=agent_id)
        return memory_from(self._call("GET", f"/v1/memories/{_seg(id)}", params=params))

    def list(self, *, user_id: str | None = None, agent_id: str | None = None,
             session_id: str | None = None, kinds: Sequence[str] | None = None,
             status: str | Sequence[str] | None = "active",
             filters: Mapping[str, Any] | None = None, limit: int = 50,
             cursor: str | None = None, order: str = "desc") -> Page:
        unknown = set(filters or {}) - {"tags"}
        if unknown:
            raise E.InvalidInput(f"list over HTTP filters by tags only, not {sorted(unknown)}")
        tags = (filters or {}).get("tags")
        params = _clean(user_id=user_id, agent_id=agent_id, session_id=session_id,
                        kind=list(kinds) if kinds else None,
                        status=[status] if isinstance(status, str) else status,
                        tag=[tags] if isinstance(tags, str) else tags, limit=limit,
                        cursor=cursor, order=order)
        data = self._call("GET", "/v1/memories", params=params)
        return Page([memory_from(m) for m in data["items"]], data.get("next_cursor"))

    def history(self, id: str) -> builtins.list[HistoryEntry]:
        data = self._call("GET", f"/v1/memories/{_seg(id)}/history")
        return [HistoryEntry(**{**h, "at": from_iso(h["at"])}) for h in data["items"]]

    def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, k: int = 10, kinds: Sequence[str] | None = None,
               filters: Mapping[str, Any] | None = None, as_of: Any = None,
               include_superseded: bool = False, now: Any = None) -> builtins.list[Hit]:
        body = _clean(query=query, user_id=user_id, agent_id=agent_id, session_id=session_id,
                      k=k, kinds=list(kinds) if kinds else None,
                      filters=_filters(filters), as_of=_time(as_of),
                      include_superseded=include_superseded, now=_time(now, "now"))
        data = self._call("POST", "/v1/search", json=body)
        return [Hit(memory_from(h["memory"]), h["score"], h["signals"]) for h in data["hits"]]

    def context(self, query: str, *, user_id: str | None = None,
                session_id: str | None = None, agent_id: str | None = None,
                max_tokens: int = 1500, now: Any = None) -> Context:
        body = _clean(query=query, user_id=user_id, session_id=session_id,
                      agent_id=agent_id, max_tokens=max_tokens, now=_time(now, "now"))
        d = self._call("POST", "/v1/context", json=body)
        return Context(d["text"], [ContextItem(**i) for i in d["items"]], d["warnings"],
                       d["tokens"], d.get("empty", False))

    def export(self, *, user_id: str | None = None) -> builtins.list[dict[str, Any]]:
        resp = self._send("GET", "/v1/export", params=_clean(user_id=user_id, format="jsonl"))
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

    def me(self) -> dict[str, Any]:
        """The calling key: key_id, tenant, role, user_id."""
        return dict(self._call("GET", "/v1/me"))


def _filters(filters: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not filters:
        return None
    out = dict(filters)
    for name in ("tags", "tags_all", "ids", "sources"):
        if isinstance(out.get(name), str):
            out[name] = [out[name]]
    if "source" in out:  # the library accepts `source` too
        src = out.pop("source")
        out["sources"] = [src] if isinstance(src, str) else list(src)
    for name in ("since", "until"):
        if name in out:
            out[name] = _time(out[name])
    return _clean(**out)


def _error(resp: httpx.Response) -> E.MemvaultError:
    try:
        err = resp.json()["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", f"HTTP {resp.status_code} from the memvault server"
    cls = _ERRORS.get(code) or _BY_STATUS.get(resp.status_code) or E.MemvaultError
    details: dict[str, Any] = {"status": resp.status_code}
    if resp.headers.get("x-request-id"):
        details["request_id"] = resp.headers["x-request-id"]
    if resp.status_code == 429 and resp.headers.get("retry-after", "").isdigit():
        details["retry_after"] = int(resp.headers["retry-after"])
    return cls(message, **details)


__all__ = ["Client", "memory_from"]
