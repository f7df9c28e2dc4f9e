"""Settings, read in one place: argument > config file > MEMVAULT_* environment > default.

This is the only module that reads environment variables. Nothing happens at import time.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .textindex import MATCH_BUDGET


def _default_home() -> str:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(xdg) / "memvault")


@dataclass(frozen=True)
class Settings:
    home: str = field(default_factory=_default_home)
    url: str | None = None  # storage URL; None = SQLite file in `home`
    embedder: str = "local"  # local (ONNX Runtime, else torch) | torch | onnx-int8 | hash
    embed_model: str | None = None
    embed_batch: int = 64
    embed_threads: int = 0  # ONNX Runtime intra-op threads; 0 = its default (all cores)
    llm_provider: str | None = None  # openai | anthropic | ollama | vllm | llamacpp | lmstudio
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 30.0
    extractor: str = "auto"  # auto (llm if configured, else rules) | rules | none | llm
    max_content_chars: int = 20_000
    max_messages_per_add: int = 1_000
    max_k: int = 100
    max_page_size: int = 500
    audit_reads: bool = True
    durable: bool = False  # synchronous=FULL instead of NORMAL
    busy_timeout_ms: int = 10_000
    keyword_budget: int = MATCH_BUDGET  # SQLite keyword leg: rows its terms match; 0 = none
    policy_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8420
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 1_000_000
    maintenance_minutes: float = 60.0  # server background maintain(); 0 = off

    @property
    def default_url(self) -> str:
        return self.url or f"sqlite:///{Path(self.home) / 'memvault.db'}"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "bool" and isinstance(raw, str):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {name!r} must be a {kind}, got {raw!r}") from exc
    return raw


def _from_env(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        key = f"MEMVAULT_{name.upper()}"
        if key in env and env[key] != "":
            out[name] = _coerce(name, env[key])
    if "MEMVAULT_DB" in env and "url" not in out:
        out["url"] = env["MEMVAULT_DB"]
    return out


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("memvault", data)
    unknown = sorted(set(section) - set(_FIELDS) - {"policy", "policies"})
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    values = {k: _coerce(k, v) for k, v in section.items() if k in _FIELDS}
    if "policy" in data and "policy_file" not in values:
        values["policy_file"] = str(path)  # its [policy] table (memvault.policy.config)
    return values


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve settings. `overrides` (arguments) win over the file, which wins over env."""
    env = dict(os.environ) if env is None else env
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    values = _from_env(env)
    home = overrides.get("home") or values.get("home") or _default_home()
    cfg_path = env.get("MEMVAULT_CONFIG") or str(Path(home) / "config.toml")
    if Path(cfg_path).is_file():
        values.update(_from_file(Path(cfg_path)))
    elif "MEMVAULT_CONFIG" in env:
        raise ConfigError(f"MEMVAULT_CONFIG points at {cfg_path}, which does not exist")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
