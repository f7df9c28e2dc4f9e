"""Request bodies: strict, closed (unknown fields are rejected) and exact, so the OpenAPI
schema says precisely what the server accepts.

Fields the server sets (tenant, source, verified, status, created_at, version, ...) are
not part of any body; sending one answers 422 naming the field. Optional fields are
omitted rather than sent as null. Caps that come from `Settings` (content length, k,
page size, messages per add) are added to the published schema by `openapi.py` and
enforced by the library's validation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from ..types import KINDS, SENSITIVITIES, SOURCES

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")
TTL_MAX = 100 * 365 * 86400.0
INT64 = 2**63 - 1
MAX_SAFE = 2**53 - 1  # the largest integer a JSON number carries exactly (as a double)


def opt(**constraints: Any) -> Any:
    """An optional field: omitted means "not given"; null is not accepted."""
    return Field(default=None, **constraints)


def parse_rfc3339(value: Any) -> datetime:
    """An RFC 3339 date-time -> aware UTC datetime. Out-of-range instants (year 1 with a
    positive offset, year 9999 with a negative one) are clamped to the representable range."""
    m = _RFC3339.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError("must be an RFC 3339 date-time, e.g. 2024-05-01T12:00:00Z")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, off = m.group(7) or "", m.group(8)
    tz = UTC
    if off not in ("Z", "z"):
        sign = -1 if off[0] == "-" else 1
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            raise ValueError("time offset out of range")
        tz = timezone(sign * timedelta(hours=oh, minutes=om))
    try:
        local = datetime(y, mo, d, h, mi, min(s, 59), int((frac + "000000")[:6]), tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {exc}") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if local.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def _visible(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain a visible character")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


# "Some visible character, no NUL", said with `not` rather than `pattern`: schema tools
# fold maxLength into a pattern as a bounded repetition ({1,20000}), which is very slow.
# Blank means Python's str.isspace() (what the library checks), spelled so that ECMA and
# Rust regex engines agree: their \s lacks \x1c-\x1f and (ECMA) \x85.
BLANK = r"^[\s\x1c-\x1f\x85]*$"
_VISIBLE = (AfterValidator(_visible), Field(json_schema_extra={
    "not": {"anyOf": [{"pattern": BLANK}, {"pattern": "\\x00"}]}}))
Id = Annotated[str, StringConstraints(min_length=1, max_length=256), *_VISIBLE]
Text = Annotated[str, StringConstraints(min_length=1), *_VISIBLE]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100), *_VISIBLE]
def whole(minimum: int, maximum: int | None = None) -> Any:
    """An integer as JSON Schema means it: 3 and 3.0 both are; true and "3" are not."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be an integer")
        n = int(value)
        if n < minimum or (maximum is not None and n > maximum):
            raise ValueError(f"must be from {minimum} to {maximum}" if maximum is not None
                             else f"must be at least {minimum}")
        return n

    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return Annotated[int, PlainValidator(check), WithJsonSchema(schema)]


Reason = Annotated[str, StringConstraints(max_length=1000)]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
When = Annotated[datetime, PlainValidator(parse_rfc3339),
                 WithJsonSchema({"type": "string", "format": "date-time"})]
Kind = Literal["message", "fact", "preference", "event", "summary", "instruction"]
Role = Literal["user", "assistant", "system", "tool"]
Sensitivity = Literal["none", "pii", "secret", "health", "financial"]
Source = Literal["user", "assistant", "inferred", "import", "tool", "admin"]
Metadata = dict[str, Any]
Scalar = Annotated[int, Field(ge=-INT64 - 1, le=INT64)] | Annotated[
    float, Field(allow_inf_nan=False)] | str | bool | None
MetaValue = Scalar | list[Any] | dict[str, Any]

assert set(KINDS) == set(Kind.__args__) and set(SOURCES) == set(Source.__args__)  # type: ignore[attr-defined]
assert set(SENSITIVITIES) == set(Sensitivity.__args__)  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _any_of(*fields: str) -> dict[str, Any]:
    return {"anyOf": [{"required": [f]} for f in fields]}


class MessageIn(Strict):
    role: Role = "user"
    content: Text
    name: Id = opt()
    timestamp: When = opt(description="event time of this turn")
    metadata: Metadata = opt()


class AddIn(Strict):
    """Conversation turns to store as `message` memories (and extract from, if `infer`)."""

    messages: list[MessageIn] = Field(min_length=1)
    user_id: Id = opt()
    agent_id: Id = opt()
    session_id: Id = opt()
    infer: bool = True
    background: bool = Field(False, description="store the turns now and extract from them "
                             "on the server's worker thread (the response lists the turns)")
    timestamp: When = opt(description="event time for turns that carry none")
    metadata: Metadata = opt()


class RememberIn(Strict):
    """One memory to store directly; a `key` supersedes older values of that key."""

    content: Text
    user_id: Id = opt()
    agent_id: Id = opt()
    session_id: Id = opt()
    kind: Kind = "fact"
    key: Id = opt()
    confidence: Unit = 1.0
    importance: Unit = 0.5
    sensitivity: Sensitivity = "none"
    tags: list[Tag] = opt(max_length=100)
    metadata: Metadata = opt()
    ttl: float = opt(gt=0, le=TTL_MAX, allow_inf_nan=False, description="seconds to keep it")
    valid_from: When = opt()
    valid_to: When = opt(description="must be after valid_from")
    sources: list[Id] = opt(max_length=1000)


class FiltersIn(Strict):
    tags: list[Tag] = opt(description="any of these tags", max_length=100)
    tags_all: list[Tag] = opt(description="all of these tags", max_length=100)
    metadata: dict[str, MetaValue] = opt(description="exact matches on metadata keys")
    sources: list[Source] = opt()
    key: Id = opt()
    session_id: Id = opt()
    since: When = opt(description="event time at or after")
    until: When = opt(description="event time before; must be after since")
    user_only: bool = opt(description="only the user's own memories, not shared ones")
    ids: list[Id] = opt(max_length=1000)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SearchIn(Strict):
    query: Text
    user_id: Id = opt()
    agent_id: Id = opt()
    session_id: Id = opt()
    k: whole(1) = 10  # type: ignore[valid-type]
    kinds: list[Kind] = opt()
    filters: FiltersIn = opt()
    as_of: When = opt(description="what was believed true at this time")
    include_superseded: bool = False
    now: When = opt(description="the time the question is asked at (default: the server's "
                    "clock): recency and time words are measured from it; filters nothing")


class ContextIn(Strict):
    query: Text
    user_id: Id = opt()
    session_id: Id = opt()
    agent_id: Id = opt()
    max_tokens: whole(1, 100_000) = 1500  # type: ignore[valid-type]
    now: When = opt(description="the time the question is asked at (default: the server's "
                    "clock)")


CHANGE_FIELDS = ("content", "key", "kind", "confidence", "importance", "tags", "metadata",
                 "valid_from", "valid_to")


class UpdateIn(Strict):
    """A change to a memory (at least one of the changeable fields); `expected_version`
    makes a racing writer get 409 instead of silently overwriting."""

    model_config = ConfigDict(json_schema_extra=_any_of(*CHANGE_FIELDS))
    content: Text = opt()
    key: Id = opt()
    kind: Kind = opt()
    confidence: Unit = opt()
    importance: Unit = opt()
    tags: list[Tag] = opt(max_length=100)
    metadata: Metadata = opt()
    valid_from: When = opt()
    valid_to: When = opt()
    expected_version: whole(1, MAX_SAFE) = opt()  # type: ignore[valid-type]
    reason: Reason = opt()

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateIn:
        if not self.changes():
            raise ValueError("nothing to update: send at least one of " + ", ".join(CHANGE_FIELDS))
        return self

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in CHANGE_FIELDS if getattr(self, f) is not None}


SUBJECT_FIELDS = ("user_id", "agent_id", "session_id", "tag", "source")


class ForgetIn(Strict):
    """Who or what to erase (at least one). A user-scoped key may only name itself."""

    model_config = ConfigDict(json_schema_extra=_any_of(*SUBJECT_FIELDS))
    user_id: Id = opt()
    agent_id: Id = opt()
    session_id: Id = opt()
    tag: Tag = opt()
    source: Source = opt(description="erase what came from this source (a filter)")
    reason: Reason = opt()

    @model_validator(mode="after")
    def _has_subject(self) -> ForgetIn:
        if all(getattr(self, f) is None for f in SUBJECT_FIELDS):
            raise ValueError("forget needs a subject: one of " + ", ".join(SUBJECT_FIELDS))
        return self


class ApproveIn(Strict):
    content: Text = opt(description="edited content to approve instead")
    reason: Reason = opt()


class RejectIn(Strict):
    reason: Reason = opt()


class KeyCreateIn(Strict):
    """A new API key of this tenant. Role `user` keys are bound to a `user_id` (required
    for them, not allowed for the other roles)."""

    role: Literal["admin", "writer", "reader", "user"]
    user_id: Id = opt(description="required for role 'user', not allowed otherwise")
    name: Id = opt(description="a label to recognise the key by")

    @model_validator(mode="after")
    def _user_binding(self) -> KeyCreateIn:
        if (self.role == "user") != (self.user_id is not None):
            raise ValueError("a 'user' key needs a user_id; other roles take none")
        return self


__all__ = ["AddIn", "ApproveIn", "ContextIn", "FiltersIn", "ForgetIn", "KeyCreateIn",
           "MessageIn", "RejectIn", "RememberIn", "SearchIn", "UpdateIn", "parse_rfc3339"]
