"""Builds a Vault from a URL and settings: the one place that picks backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .errors import ConfigError
from .extract.base import Extractor, NullExtractor
from .stores.base import Store
from .vault import Vault


def make_store(url: str, settings: Settings) -> Store:
    if url == ":memory:" or url in ("sqlite://", "sqlite://:memory:", "sqlite:///:memory:"):
        from .stores.sqlite import SqliteStore

        return SqliteStore(":memory:", durable=settings.durable,
                           busy_timeout_ms=settings.busy_timeout_ms,
                           match_budget=settings.keyword_budget or None)
    if url.startswith("sqlite:///"):
        from .stores.sqlite import SqliteStore

        path = url[len("sqlite:///"):]
        if not path:
            raise ConfigError("sqlite URL has no path: use sqlite:///path/to/file.db")
        return SqliteStore(str(Path(path).expanduser()), durable=settings.durable,
                           busy_timeout_ms=settings.busy_timeout_ms,
                           match_budget=settings.keyword_budget or None)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .stores.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError("the PostgreSQL store needs memvault[postgres]") from exc
        return PostgresStore(url, settings)
    raise ConfigError(
        f"unknown storage URL {url!r}: use ':memory:', 'sqlite:///path/to/file.db' or "
        "'postgresql://user@host/db'"
    )


def make_extractor(name: Any, settings: Settings) -> Extractor:
    if name is not None and not isinstance(name, str):
        return name
    name = name or settings.extractor
    if name == "auto":
        name = "llm" if settings.llm_provider else "rules"
    if name == "none":
        return NullExtractor()
    if name == "rules":
        try:
            from .extract.rules import RuleExtractor
        except ImportError:
            return NullExtractor()
        return RuleExtractor()
    if name == "llm":
        from .extract.factory import make_llm_extractor

        return make_llm_extractor(settings)
    raise ConfigError(f"unknown extractor {name!r}; use auto, rules, llm or none")


def make_policy(policy: Any, settings: Settings) -> Any:
    """A `Policy` object as given, a policy file path, or `settings.policy_file` (else the
    built-in defaults, `memvault/policy/default_policy.toml`)."""
    from .policy.config import load_policy, policy_for

    if policy is None:
        return policy_for(settings)
    if isinstance(policy, str | Path):
        return load_policy(policy)
    return policy


def build_vault(url: str | None, *, embedder: Any = None, extractor: Any = None,
                tenant: str = "default", settings: Settings | None = None,
                policy: Any = None, **overrides: Any) -> Vault:
    settings = settings or load_settings(**overrides)
    if isinstance(embedder, str):
        settings = Settings(**{**settings.__dict__, "embedder": embedder})
        embedder = None
    if embedder is None:
        from .embed import make_embedder

        embedder = make_embedder(settings)
    rules = make_policy(policy, settings)  # before the store: a bad policy file opens nothing
    store = make_store(url or settings.default_url, settings)
    return Vault(store, embedder, settings, make_extractor(extractor, settings), rules,
                 tenant=tenant)
