"""`memvault bench`: reproducible benchmarks that print a table, append a JSON line to
bench-results/results.jsonl and regenerate their section of BENCHMARKS.md (and plots).

    memvault bench retrieval --longmemeval ../shared/datasets/longmemeval/longmemeval_s_dev.jsonl.gz
    memvault bench retrieval --locomo locomo10.json
    memvault bench context --longmemeval ../shared/datasets/longmemeval/longmemeval_s_dev.jsonl.gz
    memvault bench kupdate --longmemeval ../shared/datasets/longmemeval/longmemeval_s_dev.jsonl.gz
    memvault bench truth
    memvault bench speed --sizes 10000,100000
    memvault bench scale --size 1000000
    memvault bench rest --threads 8 --seconds 20
    memvault bench embedders
    memvault bench extraction | pii | poison
    memvault bench all
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import render, report

app = typer.Typer(help="Benchmarks: retrieval quality, truthfulness and erasure, speed, "
                       "extraction and policy corpora.", no_args_is_help=True)
# a wide console when piped (logs, make bench), the terminal's width otherwise
console = Console() if sys.stdout.isatty() else Console(width=160)

DEFAULT_LME = Path("../shared/datasets/longmemeval/longmemeval_s_dev.jsonl.gz")
DEFAULT_CACHE = Path("bench-results/cache/embeddings.sqlite")
CORPORA = {
    "extraction": ("memvault.extract.rules", ("evaluate_corpus", "evaluate_extraction_corpus"),
                   Path("tests/data/extraction_corpus.jsonl"),
                   "Extraction: rule-based extractor against the labelled corpus"),
    "pii": ("memvault.policy.pii", ("evaluate_pii_corpus", "evaluate_corpus"),
            Path("tests/data/pii_corpus.jsonl"), "PII and secret detection"),
    "poison": ("memvault.policy.poison", ("evaluate_poison_corpus", "evaluate_corpus"),
               Path("tests/data/poison_corpus.jsonl"), "Poisoning screen"),
}

BenchFile = Annotated[Path, typer.Option("--benchmarks-file", help="Markdown file whose "
                                         "section is regenerated.")]
Results = Annotated[Path, typer.Option("--results", help="JSON-lines results file.")]
ImgDir = Annotated[Path, typer.Option("--img-dir", help="Where plots are written.")]
EmbedderOpt = Annotated[str, typer.Option("--embedder", help="local (all-MiniLM-L6-v2), torch, "
                                          "onnx, onnx-int8 or hash (fast, not semantic).")]
CacheOpt = Annotated[Path, typer.Option("--cache", help="Persistent embedding cache.")]


# --------------------------------------------------------------------- helpers


def _command(name: str, **opts: Any) -> str:
    parts = ["memvault bench", name]
    for key, value in opts.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


def _embedders(kind: str, cache: Path) -> tuple[Any, Any]:
    """(the model itself, the model behind the benchmark embedding cache)."""
    if kind == "hash":
        from ..embed import HashEmbedder

        emb = HashEmbedder()
        return emb, emb
    if kind not in ("local", "torch", "onnx", "onnx-int8"):
        raise typer.BadParameter(f"unknown embedder {kind!r}: use local, torch, onnx, "
                                 "onnx-int8 or hash")
    from ..config import load_settings
    from ..embed import make_embedder
    from .embcache import CachedEmbedder

    inner = make_embedder(load_settings(embedder=kind))
    return inner, CachedEmbedder(inner, cache)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        def step(phase: str, n: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], advance=n)
        yield step


def _warm(embedder: Any, texts: list[str]) -> None:
    if not hasattr(embedder, "warm"):
        return
    with _progress() as step:
        done = embedder.warm(texts, progress=lambda n: step("embedding (cache)", n, len(texts)))
    if done:
        console.print(f"embedded {done} new texts into the cache")


def _publish(name: str, markdown: str, record: dict[str, Any], command: str,
             benchmarks_file: Path, results: Path) -> None:
    report.replace_section(name, markdown, benchmarks_file)
    report.append_result({"bench": name, **record}, results, command=command)
    console.print(f"[dim]wrote section {name!r} of {benchmarks_file}; appended to {results}[/dim]")


# --------------------------------------------------------------------- retrieval


@app.command()
def retrieval(
    longmemeval: Annotated[Path | None,
                           typer.Option(help="LongMemEval file (.json/.jsonl[.gz]).")] = None,
    locomo: Annotated[Path | None, typer.Option(help="LoCoMo file (locomo10.json layout).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N conversations.")] = None,
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
    img_dir: ImgDir = Path("docs/img"),
) -> None:
    """Turn- and session-level recall on LongMemEval / LoCoMo, memvault beside BM25."""
    if longmemeval is None and locomo is None:
        raise typer.BadParameter("give --longmemeval PATH and/or --locomo PATH")
    _, emb = _embedders(embedder, cache)
    from .datasets import load_locomo, load_longmemeval

    for dataset, path, loader, flag in (("longmemeval", longmemeval, load_longmemeval,
                                         "longmemeval"), ("locomo", locomo, load_locomo, "locomo")):
        if path is not None:
            cmd = _command("retrieval", **{flag: path, "limit": limit, "embedder": embedder})
            _retrieval_one(dataset, path, loader, limit, emb, embedder, cmd, benchmarks_file,
                           results, img_dir)


def _retrieval_one(dataset: str, path: Path, loader: Any, limit: int | None, emb: Any,
                   embedder: str, cmd: str, benchmarks_file: Path, results: Path,
                   img_dir: Path) -> None:
    from .retrieval import KS, run_retrieval, summarise

    texts, questions = [], 0
    for sample in loader(path, limit=limit):
        texts += [t.content for t in sample.conversation.turns() if t.content.strip()]
        asked = [q for q in sample.questions if not q.abstention and q.evidence_turn_ids]
        texts += [q.question for q in asked]
        questions += len(asked)
    _warm(emb, texts)
    t0 = time.perf_counter()
    with _progress() as step:
        run = run_retrieval(loader(path, limit=limit), emb,
                            progress=lambda n: step(f"{dataset} questions", n, questions))
    summary = summarise(run)
    rows = render.retrieval_rows(summary)
    console.print(f"[bold]{dataset}[/bold] ({path}): {questions} questions in "
                  f"{time.perf_counter() - t0:.0f} s")
    render.print_table(console, rows, ("system", "question type", "n", *render.TURN_COLS),
                       f"{dataset}: turn level")
    render.print_table(console, rows, ("system", "question type", "n", *render.SESSION_COLS),
                       f"{dataset}: session level")
    # another real model gets its own section and plot, so the default's figures stay
    # (hash, the test embedder, writes the plain ones like every other bench)
    tag = dataset if embedder in ("local", "hash") else f"{dataset}-{embedder}"
    image = img_dir / f"recall_at_k_{tag}.png"
    report.plot_recall_at_k(render.recall_curves(summary, KS), image,
                            title=f"{dataset}: turn-level recall@k")
    title = f"Retrieval: {dataset} ({Path(path).name})" + (
        "" if tag == dataset else f", embedder {embedder}")
    md = render.retrieval_markdown(summary, cmd, title,
                                   render.image_link(image, benchmarks_file, "recall@k"),
                                   getattr(emb, "name", embedder))
    _publish(f"retrieval-{tag}", md, {"dataset": dataset, "path": str(path), "limit": limit,
             "embedder": embedder, "model": getattr(emb, "name", embedder),
             "summary": summary}, cmd, benchmarks_file, results)


# --------------------------------------------------------------------- context


@app.command()
def context(
    longmemeval: Annotated[Path, typer.Option(help="LongMemEval file (.json/.jsonl[.gz]).")]
    = DEFAULT_LME,
    limit: Annotated[int | None, typer.Option(help="Only the first N conversations.")] = None,
    budgets: Annotated[str, typer.Option(help="Token budgets, comma-separated.")]
    = "1000,2000,4000",
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    workdir: Annotated[Path | None, typer.Option(help="Keep the vault files here.")] = None,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """Evidence turns inside `vault.context` at each token budget, and its size against
    the whole history (LongMemEval; see memvault/bench/contextbench.py)."""
    from .contextbench import COLUMNS, context_markdown, run_context, summarise
    from .datasets import load_longmemeval
    from .retrieval import answerable

    if not longmemeval.is_file():
        raise typer.BadParameter(f"no LongMemEval file at {longmemeval}")
    sizes, (_, emb) = _sizes(budgets, "--budgets"), _embedders(embedder, cache)
    total = sum(len(answerable(s)) for s in load_longmemeval(longmemeval, limit=limit))
    t0 = time.perf_counter()
    with _progress() as step:
        run = run_context(load_longmemeval(longmemeval, limit=limit), emb, budgets=sizes,
                          workdir=workdir, progress=lambda n: step("questions", n, total))
    summary = summarise(run)
    render.print_table(console, summary["rows"], COLUMNS, f"context: {longmemeval.name}")
    console.print(f"[dim]{summary['questions']} questions in "
                  f"{time.perf_counter() - t0:.0f} s[/dim]")
    cmd = _command("context", longmemeval=longmemeval, limit=limit,
                   budgets=",".join(map(str, sizes)), embedder=embedder)
    md = context_markdown(summary, cmd, f"Context: longmemeval ({longmemeval.name})",
                          getattr(emb, "name", embedder))
    _publish("context-longmemeval", md, {"dataset": "longmemeval", "path": str(longmemeval),
             "limit": limit, "embedder": embedder, "summary": summary}, cmd, benchmarks_file,
             results)


# --------------------------------------------------------------------- kupdate


@app.command()
def kupdate(
    longmemeval: Annotated[Path, typer.Option(help="LongMemEval file (.json/.jsonl[.gz]).")]
    = DEFAULT_LME,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    k: Annotated[int, typer.Option(help="Hits per search.")] = 20,
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """Knowledge updates: does the newest evidence rank above the stale one, with the rules
    extractor and with messages only (LongMemEval; see memvault/bench/kupdate.py)."""
    from .kupdate import question_rows, run_modes, summary_rows, update_markdown, update_texts

    if not longmemeval.is_file():
        raise typer.BadParameter(f"no LongMemEval file at {longmemeval}")
    _, emb = _embedders(embedder, cache)
    texts, total = update_texts(longmemeval, limit)
    _warm(emb, texts)
    with _progress() as step:
        runs = run_modes(longmemeval, emb, k=k, limit=limit,
                         progress=lambda mode, n: step(mode, n, total))
    rows = summary_rows(runs)
    render.print_table(console, rows, list(rows[0]), f"kupdate: {longmemeval.name}")
    qrows = question_rows(runs)
    render.print_table(console, qrows, list(qrows[0]) if qrows else [], "kupdate: ranks")
    cmd = _command("kupdate", longmemeval=longmemeval, limit=limit, k=k, embedder=embedder)
    md = update_markdown(runs, cmd, f"Knowledge updates: longmemeval ({longmemeval.name})",
                         getattr(emb, "name", embedder), k)
    _publish("kupdate-longmemeval", md, {"dataset": "longmemeval", "path": str(longmemeval),
             "limit": limit, "k": k, "embedder": embedder, "runs": runs}, cmd,
             benchmarks_file, results)


# --------------------------------------------------------------------- truth


@app.command()
def truth(
    tenants: Annotated[int, typer.Option(help="Tenants.")] = 3,
    users: Annotated[int, typer.Option(help="Users per tenant (same names in every tenant).")] = 10,
    sessions: Annotated[int, typer.Option(help="Sessions per user.")] = 10,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
    floor: Annotated[float | None, typer.Option(help="Abstention floor on the top hit's "
                                                "cosine (default: per model).")] = None,
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    workdir: Annotated[Path | None, typer.Option(help="Keep the vault file here.")] = None,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """Stale facts, as-of and temporal questions, abstention, leaks and erasure canaries."""
    ok = _truth(tenants, users, sessions, seed, floor, embedder, cache, workdir,
                benchmarks_file, results)
    if not ok:
        raise typer.Exit(1)


def _truth(tenants: int, users: int, sessions: int, seed: int, floor: float | None,
           embedder: str, cache: Path, workdir: Path | None, benchmarks_file: Path,
           results: Path) -> bool:
    from .truth import run_truth, safety_rows, summarise_rows
    from .truthgen import TruthConfig, generate

    world = generate(TruthConfig(tenants, users, sessions, seed))
    _, emb = _embedders(embedder, cache)
    _warm(emb, [w.content for w in world.writes] + [q.text for q in world.questions])
    with tempfile.TemporaryDirectory() as tmp, _progress() as step:
        where = workdir or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        result = run_truth(world, emb, where, floor=floor, progress=step)
    quality, safety = summarise_rows(result.rows), safety_rows(result.safety)
    render.print_table(console, quality, render.TRUTH_COLS, "truth: quality by question type")
    render.print_table(console, safety, ("check", "measured", "target"), "truth: safety")
    verdict = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    console.print(f"{verdict}: {result.safety['leaks']} leaks, "
                  f"{result.safety['canaries_found']} canaries found, "
                  f"{result.safety['erased_served']} erased served "
                  f"({result.timings['total_s']:.0f} s)")
    cmd = _command("truth", tenants=tenants, users=users, sessions=sessions, seed=seed,
                   floor=floor, embedder=embedder)
    md = render.truth_markdown(quality, safety, result, cmd)
    _publish("truth", md, {"settings": result.settings, "quality": quality,
             "safety": result.safety, "timings": result.timings}, cmd, benchmarks_file, results)
    return result.passed


# --------------------------------------------------------------------- speed


def _sizes(text: str, option: str = "--sizes") -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError as exc:
        raise typer.BadParameter(f"{option} must be comma-separated integers, "
                                 f"got {text!r}") from exc
    if not sizes or sizes[0] < 1:
        raise typer.BadParameter(f"{option} needs at least one positive value")
    return sizes


@app.command()
def speed(
    sizes: Annotated[str, typer.Option(help="Store sizes, comma-separated.")] = "10000,100000",
    queries: Annotated[int, typer.Option(help="Queries per size.")] = 200,
    pool: Annotated[int, typer.Option(help="Distinct sentences embedded by the model.")] = 4000,
    ingest: Annotated[int, typer.Option(help="Messages for the ingest measurement.")] = 1000,
    batch: Annotated[int, typer.Option(help="Messages per add in the ingest measurement.")] = 50,
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
    img_dir: ImgDir = Path("docs/img"),
) -> None:
    """Ingest throughput, search latency p50/p95/p99 against store size, bytes per memory,
    context tokens against full-history tokens."""
    from .speed import run_speed, sentence_pool

    size_list = _sizes(sizes)
    inner, cached = _embedders(embedder, cache)
    _warm(cached, sentence_pool(pool))
    t0 = time.perf_counter()
    with _progress() as step:
        result = run_speed(inner, cached, size_list, queries=queries, pool=pool,
                           ingest_n=ingest, batch=batch, progress=step)
    rows = render.speed_rows(result)
    render.print_table(console, rows, render.SPEED_COLS, "speed: search latency (ms) and size")
    ing = render.ingest_rows(result)
    render.print_table(console, ing, list(ing[0]), "speed: ingest")
    ctx = render.context_rows(result.context)
    render.print_table(console, ctx, ("measure", "value"), "speed: context")
    console.print(f"[dim]{time.perf_counter() - t0:.0f} s[/dim]")
    image = img_dir / "speed_latency.png"
    series = {f"{p} {mode}": {r["size"]: r[key][p] for r in result.sizes}
              for key, mode in (("included", "incl. embedding"), ("excluded", "excl. embedding"))
              for p in ("p50", "p95")}
    report.plot_latency_vs_size(series, image, ylabel="search latency (ms)")
    cmd = _command("speed", sizes=",".join(map(str, size_list)), queries=queries, pool=pool,
                   ingest=ingest, batch=batch, embedder=embedder)
    md = render.speed_markdown(result, cmd, render.image_link(image, benchmarks_file,
                                                               "latency vs size"))
    _publish("speed", md, {"settings": result.settings, "sizes": result.sizes,
             "ingest": result.ingest, "context": result.context}, cmd, benchmarks_file, results)


# --------------------------------------------------------------------- scale


@app.command()
def scale(
    size: Annotated[int, typer.Option(help="Memories in the tenant.")] = 1_000_000,
    queries: Annotated[int, typer.Option(help="Queries per scenario.")] = 200,
    pool: Annotated[int, typer.Option(help="Real texts embedded by the model.")] = 40_000,
    embedder: EmbedderOpt = "onnx",
    threads: Annotated[int, typer.Option(help="Threads of the query embedder.")] = 1,
    workdir: Annotated[Path, typer.Option(help="Where the corpus is built (and kept: a "
                                          "later run with the same size reuses it).")]
    = Path("bench-results/scale"),
    longmemeval: Annotated[Path, typer.Option(help="Texts and questions.")] = DEFAULT_LME,
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """Search at 1M memories: approximate vs exact vectors, latency per scenario, memory
    and disk (see memvault/bench/scale.py)."""
    from .scale import ScaleConfig
    from .scale_run import run_scale_bench, scale_markdown

    cfg = ScaleConfig(size=size, pool=pool, queries=queries)
    inner, cached = _embedders(embedder, cache)
    with _progress() as step:
        result = run_scale_bench(cfg, inner, cached, workdir, longmemeval, threads,
                                 progress=step)
    cmd = _command("scale", size=size, queries=queries, pool=pool, embedder=embedder,
                   threads=threads)
    md = scale_markdown(result, cmd)
    console.print(md)
    _publish("scale", md, vars(result), cmd, benchmarks_file, results)


# --------------------------------------------------------------------- rest


@app.command()
def rest(
    memories: Annotated[int, typer.Option(help="Memories in the seeded vault.")] = 10_000,
    users: Annotated[int, typer.Option(help="Users they are split over (one tenant).")] = 4,
    threads: Annotated[int, typer.Option(help="Client threads (the fixed concurrency).")] = 8,
    seconds: Annotated[float, typer.Option(help="Measured seconds per phase and mode.")] = 20.0,
    warmup: Annotated[float, typer.Option(help="Uncounted seconds before each.")] = 2.0,
    rounds: Annotated[int, typer.Option(help="Alternating REST/library slices.")] = 4,
    mix: Annotated[bool, typer.Option(help="Also a 70/30 search/add phase.")] = True,
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """REST search and add latency p50/p95/p99 and throughput at a fixed concurrency,
    beside the same calls through the library (see memvault/bench/rest.py)."""
    from .rest import COLUMNS, RestConfig, rest_markdown, rest_rows, run_rest
    from .speed import sentence_pool

    cfg = RestConfig(memories=memories, users=users, threads=threads, seconds=seconds,
                     warmup=warmup, rounds=rounds, mix=mix)
    inner, cached = _embedders(embedder, cache)
    _warm(cached, sentence_pool(cfg.pool, cfg.seed))
    with _progress() as step:
        result = run_rest(cfg, inner, cached, embedder, progress=step)
    render.print_table(console, rest_rows(result), COLUMNS, "rest: latency (ms), req/s")
    cmd = _command("rest", memories=memories, users=users, threads=threads, seconds=seconds,
                   warmup=warmup, rounds=rounds, no_mix=not mix, embedder=embedder)
    _publish("rest", rest_markdown(result, cmd), {"settings": result.settings,
             "phases": result.phases}, cmd, benchmarks_file, results)


# --------------------------------------------------------------------- corpora


def _corpus(name: str, corpus: Path | None, benchmarks_file: Path, results: Path) -> None:
    module_name, functions, default, title = CORPORA[name]
    path = corpus or default
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        console.print(f"[yellow]{name}: skipped, {module_name} is not importable ({exc})[/yellow]")
        return
    fn = next((getattr(module, f) for f in functions if hasattr(module, f)), None)
    if fn is None:
        console.print(f"[yellow]{name}: skipped, {module_name} has none of {functions}[/yellow]")
        return
    if not path.is_file():
        console.print(f"[yellow]{name}: skipped, no corpus at {path}[/yellow]")
        return
    result = fn(path)
    tables, scalars = render.corpus_tables(result)
    for label, rows in tables:
        render.print_table(console, rows, list(dict.fromkeys(k for r in rows for k in r)),
                           f"{name}: {label}")
    for key, value in scalars:
        console.print(f"{key}: {render._fmt(value)}")
    cmd = _command(name, corpus=path)
    md = render.corpus_markdown(result, cmd, title, str(path))
    record = {k: v for k, v in result.items() if not isinstance(v, list | tuple)}
    _publish(name, md, {"corpus": str(path), "result": record}, cmd, benchmarks_file, results)


CorpusOpt = Annotated[Path | None, typer.Option(help="Labelled JSONL corpus.")]


@app.command()
def extraction(corpus: CorpusOpt = None, benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
               results: Results = report.DEFAULT_RESULTS) -> None:
    """Precision/recall of the rule-based extractor per category."""
    _corpus("extraction", corpus, benchmarks_file, results)


@app.command()
def pii(corpus: CorpusOpt = None, benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
        results: Results = report.DEFAULT_RESULTS) -> None:
    """Precision/recall of PII and secret detection per type and category."""
    _corpus("pii", corpus, benchmarks_file, results)


@app.command()
def poison(corpus: CorpusOpt = None, benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
           results: Results = report.DEFAULT_RESULTS) -> None:
    """Payload recall and benign false-positive rate of the poisoning screen."""
    _corpus("poison", corpus, benchmarks_file, results)


# --------------------------------------------------------------------- all


@app.command("all")
def all_(
    longmemeval: Annotated[Path,
                           typer.Option(help="LongMemEval file; skipped if absent.")] = DEFAULT_LME,
    locomo: Annotated[Path | None, typer.Option(help="LoCoMo file (optional).")] = None,
    sizes: Annotated[str, typer.Option(help="Speed: store sizes.")] = "10000,100000",
    embedder: EmbedderOpt = "local",
    cache: CacheOpt = DEFAULT_CACHE,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
    img_dir: ImgDir = Path("docs/img"),
) -> None:
    """Every benchmark at its default size."""
    files = {"benchmarks_file": benchmarks_file, "results": results}
    lme = longmemeval if longmemeval.is_file() else None
    if lme is None:
        console.print(f"[yellow]retrieval: skipped LongMemEval, no file at {longmemeval}[/yellow]")
    if lme or locomo:
        retrieval(longmemeval=lme, locomo=locomo, limit=None, embedder=embedder, cache=cache,
                  img_dir=img_dir, **files)
    if lme:
        context(longmemeval=lme, limit=None, budgets="1000,2000,4000", embedder=embedder,
                cache=cache, workdir=None, **files)
        kupdate(longmemeval=lme, limit=None, k=20, embedder=embedder, cache=cache, **files)
    passed = _truth(3, 10, 10, 7, None, embedder, cache, None, **files)
    speed(sizes=sizes, queries=200, pool=4000, ingest=1000, batch=50, embedder=embedder,
          cache=cache, img_dir=img_dir, **files)
    rest(memories=10_000, users=4, threads=8, seconds=20.0, warmup=2.0, rounds=4, mix=True,
         embedder=embedder, cache=cache, **files)
    for name in CORPORA:
        _corpus(name, None, **files)
    if not passed:
        console.print("[red]truth benchmark failed its safety targets[/red]")
        raise typer.Exit(1)


# --------------------------------------------------------------------- embedders


@app.command()
def embedders(
    longmemeval: Annotated[Path, typer.Option(help="LongMemEval file: the questions are the "
                                              "queries, its turns the batch texts.")]
    = DEFAULT_LME,
    kinds: Annotated[str, typer.Option(help="Backends, comma-separated.")]
    = "torch,onnx,onnx-int8",
    queries: Annotated[int, typer.Option(help="Single-query calls per backend and "
                                         "thread setting.")] = 200,
    turns: Annotated[int, typer.Option(help="Turns for throughput and cosines.")] = 512,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 64,
    rounds: Annotated[int, typer.Option(help="Throughput rounds (best kept).")] = 2,
    benchmarks_file: BenchFile = Path("BENCHMARKS.md"),
    results: Results = report.DEFAULT_RESULTS,
) -> None:
    """torch, ONNX float32 and ONNX int8 side by side: latency, throughput, cosine, and
    their retrieval figures from the results file (see memvault/bench/embedders.py)."""
    from . import embedders as E

    chosen = [k.strip() for k in kinds.split(",") if k.strip()]
    if not chosen or set(chosen) - set(E.KINDS):
        raise typer.BadParameter(f"--kinds takes {', '.join(E.KINDS)}, got {kinds!r}")
    if not longmemeval.is_file():
        raise typer.BadParameter(f"no LongMemEval file at {longmemeval}")
    summary = E.bench(longmemeval, chosen, queries, turns, batch, rounds, results=results)
    render.print_table(console, summary["rows"], E.COLUMNS, "embedders")
    render.print_table(console, summary["retrieval"], E.RETRIEVAL_COLUMNS,
                       f"retrieval, from {results}")
    cmd = _command("embedders", longmemeval=longmemeval, kinds=",".join(chosen),
                   queries=queries, turns=turns, batch=batch, rounds=rounds)
    md = E.embedders_markdown(summary, cmd, "Embedders: torch, ONNX float32, ONNX int8 (CPU)")
    _publish("embedders", md, {"summary": summary}, cmd, benchmarks_file, results)


def main() -> None:  # python -m memvault.bench.cli
    app()


if __name__ == "__main__":
    main()
