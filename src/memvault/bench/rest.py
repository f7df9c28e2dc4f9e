"""The REST benchmark: search and add latency (p50/p95/p99) and throughput at a fixed
concurrency through `memvault serve`, beside the same calls through the library.

How it runs (`run_rest`):
- a SQLite vault is seeded through the library with speed.py's corpus: `sentence_pool`
  embedded once by the real model (through the benchmark cache), and `Corpus` writing
  `memories` memories (sentence + tag words, vector + noise) split over `users` users of
  one tenant; the file is then copied twice, so the server and the in-process vault start
  from the same vault and neither sees the other's adds;
- a writer key is made with `memvault keys create --json` (the documented way) and
  `memvault serve` runs as a subprocess (one uvicorn worker) on a free loopback port;
  both it and the in-process vault read one settings file: rule extractor, rate limit
  and background maintenance off, everything else at its default (audit of reads on);
- phases: search only, add only, and (optionally) 70% search / 30% add. Each is measured
  for `seconds` per mode with `threads` threads, in `rounds` alternating slices (REST,
  library, REST, ...; `warmup` uncounted seconds before the first of each), so both modes
  see the same drift in machine load. Over REST each thread has its own
  `memvault.Client`; in-process they share one `Vault`, as the server's threads do;
- every query is distinct (speed.py's `query_texts`, then a tag word), so each search
  embeds its query inside the call: the vault's query-embedding cache never hits. Every
  add is one user turn with `infer=True`: a truth-generator chat line plus a distinct
  synthetic sentence, so no two adds share content. Both modes take them from the same
  lists in the same order;
- latency is wall clock at the caller (over REST: JSON, HTTP on loopback, the API key
  check, the route, parsing the answer into records); a request counts if it started in
  the measured window; CPU seconds of the server process and of this process are read
  over the window.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import open as open_vault
from ..client import Client
from ..config import Settings, load_settings
from ..embed.base import Embedder
from . import metrics as M
from .render import _load
from .report import markdown_table, render_markdown
from .soak import _free_port, start_server
from .speed import TAGS, Corpus, PoolEmbedder, query_texts, sentence_pool
from .truthgen import TruthConfig, generate

TENANT = "bench"
MIX_SEARCH = 0.7
WARM_QUERY = "warm-up query for the vector index"
Step = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RestConfig:
    memories: int = 10_000
    users: int = 4
    threads: int = 8
    seconds: float = 20.0
    warmup: float = 2.0
    rounds: int = 4  # each phase alternates REST and library slices of seconds / rounds
    mix: bool = True
    pool: int = 4000
    k: int = 10
    seed: int = 11

    @property
    def phases(self) -> tuple[str, ...]:
        return ("search", "add", "mix") if self.mix else ("search", "add")


@dataclass
class RestResult:
    phases: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------- inputs


class Feed:
    """Items handed out in order to many threads; wraps around (counted) past the end."""

    def __init__(self, items: Sequence[str]) -> None:
        self.items = list(items)
        self.taken = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[int, str]:
        with self._lock:
            i = self.taken
            self.taken += 1
        return i, self.items[i % len(self.items)]

    @property
    def repeats(self) -> int:
        return max(0, self.taken - len(self.items))


def distinct_queries(seed: int) -> list[str]:
    """~54,000 distinct questions: 1,500 from speed.py's generator, each with every tag."""
    base = query_texts(1500, seed)
    return [f"{q} Tag: {tag}." for tag in TAGS for q in base]


def add_turns(n: int, seed: int) -> list[str]:
    """`n` distinct user turns: a truth-generator chat line (what the rule extractor is
    written for) followed by a distinct synthetic sentence."""
    world = generate(TruthConfig(tenants=1, users=26, sessions=12, seed=5))
    chat = list(dict.fromkeys(w.content for w in world.writes
                              if w.op == "add" and w.role == "user"))
    tails = sentence_pool(n, seed)
    return [f"{chat[i % len(chat)]} {tail}" for i, tail in enumerate(tails)]


# --------------------------------------------------------------------- the vault and server


def bench_settings(folder: Path, kind: str) -> Settings:
    """Write `folder`/config.toml, read by the server (MEMVAULT_HOME=folder) and here.
    `home` stays the real data dir, so the ONNX model exported there is reused."""
    values = {"home": load_settings().home, "embedder": kind, "extractor": "rules",
              "rate_limit_per_minute": 0, "maintenance_minutes": 0}
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    (folder / "config.toml").write_text("[memvault]\n" + "\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "MEMVAULT_CONFIG"}
    return load_settings(env={**env, "MEMVAULT_HOME": str(folder)})


def seed_vault(db: Path, settings: Settings, inner: Embedder, pool_embedder: Embedder,
               cfg: RestConfig, step: Step) -> list[str]:
    texts = sentence_pool(cfg.pool, cfg.seed)
    vecs = np.asarray(pool_embedder.embed(texts), dtype=np.float32)
    users = [f"user{i}" for i in range(cfg.users)]
    with open_vault(f"sqlite:///{db}", embedder=PoolEmbedder(inner), extractor="none",
                    settings=settings) as vault:
        for i, user in enumerate(users):
            n = cfg.memories // cfg.users + (i < cfg.memories % cfg.users)
            Corpus(vault, texts, vecs, cfg.seed + i, {"user_id": user, "tenant": TENANT}
                   ).grow(n, lambda c: step("seed vault", c, cfg.memories))
    return users


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy (SQLite's backup API, so a WAL file left behind is included)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return dst


def create_key(folder: Path, db: Path) -> str:
    """`memvault keys create --role writer --json`, as docs/cli.md shows."""
    exe = shutil.which("memvault", path=str(Path(sys.executable).parent)) or "memvault"
    env = {k: v for k, v in os.environ.items() if k != "MEMVAULT_CONFIG"}
    done = subprocess.run([exe, "keys", "create", "--role", "writer", "--tenant", TENANT,
                           "--name", "bench-rest", "--db", f"sqlite:///{db}", "--json"],
                          env={**env, "MEMVAULT_HOME": str(folder)}, capture_output=True,
                          text=True, timeout=120, check=True)
    return str(json.loads(done.stdout.strip().splitlines()[-1])["token"])


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------- load


class Caller:
    """One thread's search and add calls on a `memvault.Client` or a shared `Vault`."""

    def __init__(self, target: Any, queries: Feed, turns: Feed, users: Sequence[str],
                 k: int, session: str, scope: dict[str, str]) -> None:
        self.target, self.queries, self.turns, self.users = target, queries, turns, users
        self.k, self.session, self.scope = k, session, scope

    def __call__(self, op: str) -> None:
        if op == "search":
            i, query = self.queries.next()
            self.target.search(query, user_id=self.users[i % len(self.users)], k=self.k,
                               **self.scope)
        else:
            i, text = self.turns.next()
            self.target.add({"role": "user", "content": text}, session_id=self.session,
                            user_id=self.users[i % len(self.users)], **self.scope)

    def warm(self) -> None:
        for user in self.users:
            self.target.search(WARM_QUERY, user_id=user, k=self.k, **self.scope)
        self.target.add("warm-up turn.", user_id=self.users[0], session_id="warm-up",
                        **self.scope)


Sample = tuple[str, float, str | None]  # op, seconds, error type


def _worker(call: Caller, phase: str, rng: random.Random, mark: float, stop: float,
            out: list[Sample]) -> None:
    while (t0 := time.perf_counter()) < stop:
        op = phase if phase != "mix" else ("search" if rng.random() < MIX_SEARCH else "add")
        error = None
        try:
            call(op)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            error = type(exc).__name__
        if t0 >= mark:
            out.append((op, time.perf_counter() - t0, error))


@dataclass
class Slice:
    """What one (phase, mode) measured, over its rounds: samples and CPU seconds."""

    samples: list[Sample] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0


def run_slice(phase: str, callers: Sequence[Caller], seconds: float, warmup: float,
              seed: int, server_pid: int, into: Slice) -> None:
    """`len(callers)` threads for `warmup` + `seconds`; what started after the warm-up
    counts. The op sequence of thread i follows `seed + i` (the same for both modes)."""
    samples: list[list[Sample]] = [[] for _ in callers]
    mark = time.perf_counter() + warmup
    stop = mark + seconds
    threads = [threading.Thread(target=_worker, args=(c, phase, random.Random(seed + i),
                                                      mark, stop, samples[i]))
               for i, c in enumerate(callers)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, mark - time.perf_counter()))
    cpu0 = (proc_cpu_s(server_pid), time.process_time())
    for t in threads:
        t.join()
    into.server_cpu += proc_cpu_s(server_pid) - cpu0[0]
    into.client_cpu += time.process_time() - cpu0[1]
    into.samples += [s for part in samples for s in part]


def summarise(phase: str, via: str, samples: Sequence[Sample], seconds: float,
              server_cpu: float, client_cpu: float) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for op in dict.fromkeys(s[0] for s in samples):
        mine = [s for s in samples if s[0] == op]
        ok = [s[1] for s in mine if s[2] is None]
        ops[op] = {**M.latency_summary(ok), "requests": len(mine), "rps": len(mine) / seconds,
                   "errors": len(mine) - len(ok)}
    n = max(1, len(samples))
    errors: dict[str, int] = {}
    for s in samples:
        if s[2] is not None:
            errors[s[2]] = errors.get(s[2], 0) + 1
    return {"phase": phase, "via": via, "seconds": seconds, "requests": len(samples),
            "rps": len(samples) / seconds, "errors": sum(errors.values()),
            "error_types": errors, "ops": ops, "server_cpu_ms_per_request":
            1000 * server_cpu / n, "client_cpu_ms_per_request": 1000 * client_cpu / n}


# --------------------------------------------------------------------- the whole run


def _no_progress(phase: str, n: int, total: int) -> None:
    return None


def run_rest(cfg: RestConfig, inner: Embedder, pool_embedder: Embedder, kind: str, *,
             workdir: Path | None = None, progress: Step | None = None) -> RestResult:
    """`inner`: the model (its name must be the server's); `pool_embedder`: the same model
    behind the benchmark cache, for the seeded corpus; `kind`: the server's embedder."""
    step = progress or _no_progress
    res = RestResult(settings={**asdict(cfg), "embedder": inner.name, "embedder_kind": kind,
                               "tenant": TENANT, "extractor": "rules", "search_k": cfg.k,
                               "loadavg_start": os.getloadavg(), "niceness": os.nice(0)})
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        settings = bench_settings(folder, kind)
        users = seed_vault(folder / "seed.db", settings, inner, pool_embedder, cfg, step)
        rest_db = copy_db(folder / "seed.db", folder / "rest.db")
        lib_db = copy_db(folder / "seed.db", folder / "library.db")
        token, port = create_key(folder, rest_db), _free_port()
        server = start_server(rest_db, folder, port, kind)
        try:
            with open_vault(f"sqlite:///{lib_db}", settings=settings) as vault:
                _phases(res, cfg, users, f"http://127.0.0.1:{port}", token, vault,
                        server.pid, step)
        finally:
            server.terminate()
            server.wait(30)
        log = (folder / "server.log").read_text(errors="replace")
        res.settings["server_tracebacks"] = log.count("Traceback")
    res.settings["loadavg_end"] = os.getloadavg()
    return res


def _phases(res: RestResult, cfg: RestConfig, users: list[str], url: str, token: str,
            vault: Any, server_pid: int, step: Step) -> None:
    queries = distinct_queries(cfg.seed + 1)
    turns = add_turns(20_000, cfg.seed + 2)
    feeds = {via: (Feed(queries), Feed(turns)) for via in ("rest", "library")}
    with ExitStack() as stack:
        targets = {"rest": [stack.enter_context(Client(url, token, timeout=60.0))
                            for _ in range(cfg.threads)], "library": [vault] * cfg.threads}
        callers = {via: [Caller(t, *feeds[via], users, cfg.k, f"bench-t{i}",
                                {} if via == "rest" else {"tenant": TENANT})
                         for i, t in enumerate(targets[via])] for via in targets}
        for via in callers:
            callers[via][0].warm()
        for phase in cfg.phases:
            res.phases += _alternate(phase, callers, cfg, server_pid, step)
    res.settings["repeated_queries"] = {v: f[0].repeats for v, f in feeds.items()}
    res.settings["repeated_turns"] = {v: f[1].repeats for v, f in feeds.items()}


def _alternate(phase: str, callers: dict[str, list[Caller]], cfg: RestConfig,
               server_pid: int, step: Step) -> list[dict[str, Any]]:
    """`rounds` slices of REST then library, so both see the same drift in machine load."""
    got = {via: Slice() for via in callers}
    for r in range(cfg.rounds):
        for via in callers:
            run_slice(phase, callers[via], cfg.seconds / cfg.rounds,
                      cfg.warmup if r == 0 else 0.0, cfg.seed + 1000 * r, server_pid, got[via])
            step("phases", 1, 2 * cfg.rounds * len(cfg.phases))
    return [summarise(phase, via, s.samples, cfg.seconds, s.server_cpu, s.client_cpu)
            for via, s in got.items()]


# --------------------------------------------------------------------- report

VIA = {"rest": "REST", "library": "library"}
COLUMNS = ("phase", "op", "via", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors")


def rest_rows(result: RestResult) -> list[dict[str, Any]]:
    return [{"phase": p["phase"], "op": op, "via": VIA[p["via"]], "requests": s["requests"],
             "req/s": s["rps"], "p50 ms": s["p50"], "p95 ms": s["p95"], "p99 ms": s["p99"],
             "errors": s["errors"]}
            for p in result.phases for op, s in p["ops"].items()]


def overhead_rows(result: RestResult) -> list[dict[str, Any]]:
    """REST minus library, per phase and op (where both have latencies)."""
    ops = {(p["phase"], p["via"], op): s for p in result.phases for op, s in p["ops"].items()}
    rows = []
    for (phase, via, op), a in ops.items():
        b = ops.get((phase, "library", op))
        if via != "rest" or b is None or a["p50"] is None or b["p50"] is None:
            continue
        rows.append({"phase": phase, "op": op,
                     **{f"Δ {q} ms": a[q] - b[q] for q in ("p50", "p95", "p99")},
                     "req/s REST / library": a["rps"] / b["rps"] if b["rps"] else None})
    return rows


def cpu_rows(result: RestResult) -> list[dict[str, Any]]:
    return [{"phase": p["phase"], "via": VIA[p["via"]], "req/s": p["rps"],
             "server CPU ms/req": p["server_cpu_ms_per_request"],
             "bench process CPU ms/req": p["client_cpu_ms_per_request"],
             "total CPU ms/req": p["server_cpu_ms_per_request"]
             + p["client_cpu_ms_per_request"]}
            for p in result.phases]


def _per_via(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{VIA[v]} {n}" for v, n in (counts or {}).items()) or "?"


def rest_markdown(result: RestResult, command: str) -> str:
    st = result.settings
    notes = [
        f"{st['threads']} threads, {st['seconds']:g} s measured per phase and mode, in "
        f"{st['rounds']} alternating slices (REST, library, REST, ...; {st['warmup']:g} s "
        f"not counted before the first), k = {st['search_k']}. Vault: SQLite, "
        f"{st['memories']:,} memories over {st['users']} users of one tenant (speed.py's "
        f"corpus: {st['pool']} sentences embedded by {st['embedder']}, + tags and noise); "
        "REST: `memvault serve` (one uvicorn worker) on loopback, each thread its own "
        "`memvault.Client` with a writer key; library: the same calls on one shared "
        "in-process `Vault`, from a copy of the same file. Same settings both ways (rule "
        "extractor, audit of reads on, rate limit off).",
        "Every query is distinct (the query-embedding cache never hits: each search embeds "
        "its query inside the call); every add is one new user turn with `infer=True` "
        "(embedding, rule extraction, reconciliation, one transaction with history and "
        "audit). Mix: 70% search / 30% add. Latency is wall clock at the caller: over REST "
        "it includes JSON, HTTP on loopback, the key check and parsing the answer into "
        "records. Client threads and server share this machine's CPUs, so req/s is what "
        "this box does with both on it, not a capacity plan. The loop is closed (each "
        "thread sends its next request when the last one answers), so latency ≈ threads "
        "/ req/s: once the CPUs are saturated, p50 is mostly queueing, and the cost of "
        "HTTP shows in CPU per request (below) more than in latency; `--threads 1` shows "
        "it unsaturated.",
        f"Load average (1/5/15 min) at start {_load(st['loadavg_start'])}, end "
        f"{_load(st['loadavg_end'])}; niceness {st['niceness']}; server tracebacks "
        f"{st.get('server_tracebacks', '?')}; queries / turns handed out a second time "
        f"(lists exhausted): {_per_via(st.get('repeated_queries'))} / "
        f"{_per_via(st.get('repeated_turns'))}.",
        "", "HTTP overhead (REST minus library):", "",
        markdown_table(overhead_rows(result), floatfmt=".1f"),
        "", "CPU per request (server process; this process: client threads, or the "
        "library's work):", "", markdown_table(cpu_rows(result), floatfmt=".2f"),
    ]
    rows = [{k: f"{v:.1f}" if isinstance(v, float) else v for k, v in r.items()}
            for r in rest_rows(result)]
    return render_markdown(rows, command,
                           title="REST API beside the library (latency and throughput)",
                           notes="\n".join(notes))


__all__ = ["COLUMNS", "RestConfig", "RestResult", "rest_markdown", "rest_rows", "run_rest"]
