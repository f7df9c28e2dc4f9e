"""The REST app: `create_app(vault, settings)` builds it, `serve(...)` runs it on uvicorn.

Layers, outermost first: RequestContext (request id, access log, metrics, last-resort 500)
-> GateMiddleware (body cap, API key, rate limit) -> FastAPI routes (role checks, scope).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..config import Settings, load_settings
from ..vault import Vault
from . import (
    errors,
    inspector,
    openapi,
    routes_governance,
    routes_keys,
    routes_memories,
    routes_ops,
)
from .auth import Principal, vault_for
from .background import Background
from .keys import KeyStore
from .limits import GateMiddleware, RateLimiter
from .observe import Metrics, RequestContext, setup_logging

log = logging.getLogger("memvault.server")

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[Any]]

_DESCRIPTION = """A persistent memory layer for AI assistants and agents.

Authenticate with `Authorization: Bearer mvk_...`. Each key is bound to one tenant and a
role (`admin`, `writer`, `reader`, or `user`: bound to one user_id). Errors are
`{"error": {"code", "message", "request_id"}}`. See docs/server.md.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for hook in list(app.state.lifespan_hooks):
            await stack.enter_async_context(hook(app))
        background: Background = app.state.background
        background.start()
        try:
            yield
        finally:
            await background.stop()


def create_app(vault: Vault, settings: Settings | None = None, *, keys: KeyStore | None = None,
               maintenance_interval_s: float | None = None) -> FastAPI:
    """A FastAPI app serving `vault`. The caller owns the vault (and closes it)."""
    settings = settings or vault.settings
    keys = keys or KeyStore(vault.store)
    metrics = Metrics()
    interval = (settings.maintenance_minutes * 60 if maintenance_interval_s is None
                else maintenance_interval_s)
    app = FastAPI(title="memvault", version=__version__, description=_DESCRIPTION,
                  lifespan=_lifespan, redoc_url=None)
    st = app.state
    st.vault, st.settings, st.keys, st.metrics = vault, settings, keys, metrics
    st.background = Background(vault, interval)
    st.lifespan_hooks = []  # async context managers entered for the server's lifetime
    st.protected_prefixes = ["/v1"]  # paths that need an API key (GateMiddleware)
    errors.install(app)
    inspector.install(app)  # the web inspector at / (ahead of routes_ops' placeholder page)
    for module in (routes_memories, routes_governance, routes_keys, routes_ops):
        app.include_router(module.router)
    _mount_mcp(app)
    openapi.install(app, settings)
    app.add_middleware(GateMiddleware, keys=keys, limiter=RateLimiter(
        settings.rate_limit_per_minute), max_body=settings.max_body_bytes,
        prefixes=st.protected_prefixes)
    app.add_middleware(RequestContext, metrics=metrics, router_app=app)
    return app


# ---- MCP HOOK -------------------------------------------------------------------------
# memvault.server.mcp (written separately) exposes `mount_mcp(app, vault_provider)` for
# streamable HTTP at /mcp. Contract offered here:
#   - vault_provider(principal) -> Vault acting for that key (its tenant, its actor id);
#   - append "/mcp" to app.state.protected_prefixes to have GateMiddleware authenticate
#     and rate-limit it; the caller is then scope["state"]["principal"] (a Principal);
#   - append an async-context-manager factory `hook(app)` to app.state.lifespan_hooks for
#     anything that must run for the server's lifetime (e.g. a session manager).
def _mount_mcp(app: FastAPI) -> None:
    if importlib.util.find_spec("memvault.server.mcp") is None:
        return
    try:
        from . import mcp
    except ImportError as exc:
        log.warning("MCP not mounted", extra={"fields": {"error_type": type(exc).__name__}})
        return
    base: Vault = app.state.vault

    def vault_provider(principal: Principal) -> Vault:
        return vault_for(base, principal)

    mcp.mount_mcp(app, vault_provider)
# ---- end MCP HOOK ---------------------------------------------------------------------


def ensure_admin_key(keys: KeyStore, tenant: str = "default") -> str | None:
    """Create an admin key if the tenant has no active one; returns its token (once)."""
    if keys.has_admin(tenant):
        return None
    _, token = keys.create(tenant, "admin", name="first admin key", actor="serve")
    return token


def serve(settings: Settings | None = None, host: str | None = None, port: int | None = None,
          db_url: str | None = None) -> None:
    """Run the server (blocking). On first start, creates and prints an admin key."""
    import uvicorn

    import memvault

    settings = settings or load_settings()
    host, port = host or settings.host, port or settings.port
    setup_logging()
    vault = memvault.open(db_url or settings.default_url, settings=settings)
    try:
        keys = KeyStore(vault.store)
        token = ensure_admin_key(keys, vault.tenant)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        if token:
            print("memvault: created an admin API key. It is shown once: store it now.\n"
                  f"  key:       {token}\n"
                  f"  inspector: http://{shown}:{port}/?key={token}", file=sys.stdout,
                  flush=True)
        print(f"memvault: serving on http://{shown}:{port} "
              f"(API docs at /docs)", flush=True)
        uvicorn.run(create_app(vault, settings, keys=keys), host=host, port=port,
                    log_config=None, access_log=False, server_header=False)
    finally:
        vault.close()


__all__ = ["create_app", "ensure_admin_key", "serve"]
