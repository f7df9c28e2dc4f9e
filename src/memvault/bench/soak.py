"""Load and soak test of `memvault serve` on loopback, with Locust.

    python -m memvault.bench.soak --soak-seconds 300 --benchmarks BENCHMARKS.md

1. Prepare a SQLite vault with two tenants (a writer key each, many users, seeded
   memories, a canary word per tenant) and start `memvault serve` on 127.0.0.1.
2. Step load: users at a fixed request rate each (70% search, 20% add, 5% update, 5%
   delete), doubling per step until throughput falls behind the offered rate or p95
   jumps: the last step that kept up is the knee.
3. Soak at ~60% of the knee for the given time, in intervals: p95/p99 drift first to
   last interval, server RSS growth, zero 5xx; a probe runs throughout with each
   tenant's key against the other tenant's data and must find nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TENANTS = ("acme", "globex")
CANARIES = {"acme": "zanzibarcanary", "globex": "quokkacanary"}


# -- preparation ---------------------------------------------------------------------

def prepare(db: Path, users_per_tenant: int, memories_per_user: int) -> dict[str, Any]:
    """Seed the vault file and create one writer key per tenant (before the server)."""
    import memvault
    from memvault.embed import HashEmbedder
    from memvault.server.keys import KeyStore

    from .soak_vocab import words

    rng = random.Random(0)
    cfg: dict[str, Any] = {"tenants": list(TENANTS), "canaries": CANARIES, "keys": {},
                           "users": {}, "probe_ids": {}}
    with memvault.open(f"sqlite:///{db}", embedder=HashEmbedder(), extractor="none") as vault:
        keys = KeyStore(vault.store)
        for tenant in TENANTS:
            cfg["keys"][tenant] = keys.create(tenant, "writer", name="soak")[1]
            users = [f"{tenant}-u{i}" for i in range(users_per_tenant)]
            cfg["users"][tenant] = users
            for u in users:
                msgs = [{"role": "user", "content": words(rng, 8)}
                        for _ in range(memories_per_user)]
                vault.add(msgs, user_id=u, infer=False, tenant=tenant)
            cfg["probe_ids"][tenant] = [
                vault.remember(f"{tenant} secret {CANARIES[tenant]} number {i}",
                               user_id=users[i % len(users)], tenant=tenant).id
                for i in range(10)]
    return cfg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, home: Path, port: int, embedder: str) -> subprocess.Popen[bytes]:
    exe = shutil.which("memvault", path=str(Path(sys.executable).parent)) or "memvault"
    env = {**os.environ, "MEMVAULT_HOME": str(home), "MEMVAULT_EMBEDDER": embedder,
           "MEMVAULT_RATE_LIMIT_PER_MINUTE": str(10**9), "MEMVAULT_MAINTENANCE_MINUTES": "0"}
    env.pop("MEMVAULT_CONFIG", None)
    log = home / "server.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--db", f"sqlite:///{db}"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"memvault serve exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("memvault serve did not answer /healthz within 120 s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- measuring -----------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def summarise(samples: list[tuple[float, str, float, int]], t0: float,
              t1: float) -> dict[str, Any]:
    """Mix requests (not probes) completed in [t0, t1): rate, latency, status classes."""
    window = [s for s in samples if t0 <= s[0] < t1 and not s[1].startswith("probe")]
    times = [s[2] for s in window]
    return {"requests": len(window), "rps": round(len(window) / max(t1 - t0, 1e-9), 1),
            "p50_ms": round(_pct(times, 0.5), 1), "p95_ms": round(_pct(times, 0.95), 1),
            "p99_ms": round(_pct(times, 0.99), 1),
            "5xx": sum(1 for s in window if s[3] >= 500),
            "other_errors": sum(1 for s in window if s[3] == 0 or 400 <= s[3] < 500)}


class LoadRun:
    """Locust in this process (gevent), the server in another."""

    def __init__(self, host: str, cfg: dict[str, Any], rate: float, server_pid: int) -> None:
        import gevent
        from locust import constant_throughput
        from locust.env import Environment

        from . import soak_users

        soak_users.CONFIG.update(cfg)
        soak_users.MixUser.wait_time = constant_throughput(rate)
        self.gevent, self.users, self.rate, self.pid = gevent, soak_users, rate, server_pid
        self.samples: list[tuple[float, str, float, int]] = []
        self.rss: list[tuple[float, float]] = []
        self.env = Environment(user_classes=[soak_users.MixUser, soak_users.ProbeUser],
                               host=host)
        self.env.events.request.add_listener(self._on_request)
        self.runner = self.env.create_local_runner()
        gevent.spawn(self._sample_rss)

    def _on_request(self, request_type: str, name: str, response_time: float,
                    response_length: int, exception: Any = None, response: Any = None,
                    **_: Any) -> None:
        status = getattr(response, "status_code", 0) or 0
        self.samples.append((time.monotonic(), name, float(response_time), int(status)))

    def _sample_rss(self) -> None:
        while True:
            try:
                self.rss.append((time.monotonic(), rss_mb(self.pid)))
            except OSError:
                return
            self.gevent.sleep(1.0)

    def hold(self, users: int, seconds: float, warmup: float = 3.0) -> tuple[float, float]:
        """Run `users` mix users (+ the probe) for `seconds`; the measured window."""
        self.runner.start(users + 1, spawn_rate=max(users, 1))
        self.gevent.sleep(warmup)
        t0 = time.monotonic()
        self.gevent.sleep(seconds)
        return t0, time.monotonic()

    def stop(self) -> None:
        self.runner.quit()


def find_knee(run: LoadRun, steps: Sequence[int], step_seconds: float,
              p95_slo_ms: float = 500.0) -> tuple[int, list[dict[str, Any]]]:
    """Step up until a step falls behind its offered rate (< 95%) or breaks the p95 SLO;
    the knee is the last step that held both."""
    rows: list[dict[str, Any]] = []
    knee = steps[0]
    for users in steps:
        t0, t1 = run.hold(users, step_seconds)
        row = {"users": users, "offered_rps": round(users * run.rate, 1),
               **summarise(run.samples, t0, t1)}
        row["kept_up"] = row["rps"] >= 0.95 * row["offered_rps"] and row["p95_ms"] <= p95_slo_ms
        rows.append(row)
        if not row["kept_up"]:
            break
        knee = users
    return knee, rows


def soak(run: LoadRun, users: int, seconds: float, intervals: int) -> dict[str, Any]:
    t0, t1 = run.hold(users, seconds)
    edges = [t0 + (t1 - t0) * i / intervals for i in range(intervals + 1)]
    rows = [{"interval": i + 1, **summarise(run.samples, edges[i], edges[i + 1]),
             "rss_mb": round(_mean([m for t, m in run.rss if edges[i] <= t < edges[i + 1]]), 1)}
            for i in range(intervals)]
    first, last = rows[0], rows[-1]
    return {"users": users, "offered_rps": round(users * run.rate, 1), "intervals": rows,
            "p95_drift": _drift(first["p95_ms"], last["p95_ms"]),
            "p99_drift": _drift(first["p99_ms"], last["p99_ms"]),
            "rss_growth_mb": round(last["rss_mb"] - first["rss_mb"], 1),
            "rss_growth": _drift(first["rss_mb"], last["rss_mb"]),
            "5xx": sum(r["5xx"] for r in rows), **summarise(run.samples, t0, t1)}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _drift(first: float, last: float) -> float:
    return round((last - first) / first, 3) if first else 0.0


# -- the whole run -------------------------------------------------------------------

def run_soak(steps: Sequence[int] = (4, 8, 16, 32, 64, 128), step_seconds: float = 20.0,
             rate: float = 2.0, soak_seconds: float = 300.0, intervals: int = 5,
             users_per_tenant: int = 100, memories_per_user: int = 20,
             embedder: str = "hash", folder: str | Path | None = None,
             p95_slo_ms: float = 500.0) -> dict[str, Any]:
    folder = Path(folder or tempfile.mkdtemp(prefix="memvault-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "soak.db"
    cfg = prepare(db, users_per_tenant, memories_per_user)
    port = _free_port()
    server = start_server(db, folder, port, embedder)
    try:
        run = LoadRun(f"http://127.0.0.1:{port}", cfg, rate, server.pid)
        knee, step_rows = find_knee(run, steps, step_seconds, p95_slo_ms)
        soak_users = max(1, round(0.6 * knee))
        result = soak(run, soak_users, soak_seconds, intervals)
        run.stop()
    finally:
        server.terminate()
        server.wait(30)
    from . import soak_users as probe

    log = (folder / "server.log").read_text(errors="replace")
    report = {"steps": step_rows, "knee_users": knee, "knee_rps": _knee_rps(step_rows, knee),
              "soak": result, "probes": dict(probe.PROBES), "leaks": list(probe.LEAKS),
              "server_tracebacks": log.count("Traceback"), "rate_per_user": rate,
              "p95_slo_ms": p95_slo_ms, "loadavg_end": round(os.getloadavg()[0], 1),
              "embedder": embedder, "seed_memories": len(TENANTS) * users_per_tenant
              * memories_per_user, "folder": str(folder)}
    report["ok"] = (result["5xx"] == 0 and probe.PROBES["leaks"] == 0
                    and probe.PROBES["control_misses"] == 0
                    and result["p95_drift"] < 0.10 and result["p99_drift"] < 0.10)
    return report


def _knee_rps(rows: list[dict[str, Any]], knee: int) -> float:
    return next((r["rps"] for r in rows if r["users"] == knee), 0.0)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m memvault.bench.soak",
                                description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--steps", default="4,8,16,32,64,128", help="users per step")
    p.add_argument("--step-seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=2.0, help="requests/s per simulated user")
    p.add_argument("--soak-seconds", type=float, default=300.0)
    p.add_argument("--intervals", type=int, default=5)
    p.add_argument("--users-per-tenant", type=int, default=100)
    p.add_argument("--memories-per-user", type=int, default=20)
    p.add_argument("--embedder", default="hash", choices=("hash", "local"))
    p.add_argument("--p95-slo-ms", type=float, default=500.0,
                   help="a step whose p95 exceeds this is past the knee")
    p.add_argument("--dir", help="working folder (default: a temp dir)")
    p.add_argument("--benchmarks", metavar="FILE", help="write section 'soak' there")
    args = p.parse_args(argv)
    report = run_soak([int(x) for x in args.steps.split(",")], args.step_seconds, args.rate,
                      args.soak_seconds, args.intervals, args.users_per_tenant,
                      args.memories_per_user, args.embedder, args.dir, args.p95_slo_ms)
    print(json.dumps(report, indent=2))
    if args.benchmarks:
        from .soak_report import write_soak_section

        write_soak_section(args.benchmarks, report,
                           "python -m memvault.bench.soak " + " ".join(sys.argv[1:]))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
