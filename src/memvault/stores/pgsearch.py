"""How the PostgreSQL store searches a scope: the choices (pure) and the keyword SQL.

Two facts shape them (docs/postgres.md, "Keyword search" and "Vector search"):

- Under Row-Level Security PostgreSQL uses an index only for leakproof operators, and no
  GIN operator is one: `memories.tsv @@ q` is checked row by row over the scope. The GIN
  index that the planner can use is on `keyword_index` (no RLS, hashed lexemes), read
  joined to `memories`, where RLS and the scope clause apply.
- A scope's size is known exactly and cheaply from `scope_rows` (kept by triggers), while
  the planner's estimate under RLS can be far off.

So a keyword search either scans the scope's rows (narrow scopes) or ranks the index's
candidates in the tenant and walks them in rank order until `limit` pass the scope and
filters (broad scopes); and a vector search of a small share of a large tenant is exact.
"""

from __future__ import annotations

from ..textindex import within_budget  # shared with SQLite's keyword plan

# ts_rank_cd normalisation 1|32: divide by 1 + log(document length) (BM25's length
# normalisation, roughly) and map to rank/(rank+1) in [0, 1).
RANK_NORM = 1 | 32
# A narrow scan reads every row of the scope (~2 µs each); the broad path ranks every
# candidate of the tenant (~7 µs each, ts_rank_cd): scan while rows < this × candidates.
NARROW_PER_CANDIDATE = 3
# Candidates the broad path ranks at most (the summed document frequency of the kept
# terms), unless the rarest term alone has more: ~35 ms of ts_rank_cd at ~7 µs each.
KEYWORD_BUDGET = 5_000
# Vector leg: an exact scan of r rows costs ~r; the HNSW iterative scan under a scope
# holding a share s of the tenant walks ~1/s more of the graph. Measured at 1M memories:
# exact 10,100 rows 58 ms, HNSW at a 1% share 119 ms, at 21% 13 ms. Exact is cheaper
# while r * r < EXACT_SHARE_K * tenant rows (r < 14,000 at 1M, < 4,500 at 100k).
EXACT_SHARE_K = 200


def keyword_narrow(scope_rows: int, candidates: int) -> bool:
    """Scan the scope's rows (True) rather than rank the tenant's candidates."""
    return scope_rows < NARROW_PER_CANDIDATE * candidates


def vector_exact(scope_rows: int, tenant_rows: int) -> bool:
    """Search the scope's vectors exactly rather than through the HNSW index."""
    return scope_rows * scope_rows < EXACT_SHARE_K * tenant_rows


def narrow_keyword_sql(scope_sql: str, where: str) -> str:
    """Scope rows first (their indexes), each row's tsvector checked and ranked."""
    return (f"SELECT m.id, ts_rank_cd(m.tsv, q, {RANK_NORM}) AS s"
            " FROM memories m, to_tsquery('simple', %s) q"
            f" WHERE m.tsv @@ q AND {scope_sql} AND {where} ORDER BY s DESC, m.id LIMIT %s")


def broad_keyword_sql(scope_sql: str, where: str) -> str:
    """The tenant's candidates from keyword_index's GIN index, ranked there (same scores:
    the hashed lexemes keep their positions), then joined to `memories` in rank order, so
    the scope and filters are checked only until `limit` rows pass. OFFSET 0 keeps the
    ranked subquery whole; the nested loop keeps its order."""
    return (
        "SELECT c.memory_id, c.s FROM ("
        f" SELECT k.memory_id, ts_rank_cd(k.tsv, q, {RANK_NORM}) AS s"
        " FROM keyword_index k, memvault_hashed_query(%s::text[]) q"
        " WHERE k.tsv @@ q AND k.tenant = %s ORDER BY s DESC, k.memory_id OFFSET 0) c"
        f" JOIN memories m ON m.id = c.memory_id WHERE {scope_sql} AND {where}"
        " ORDER BY c.s DESC, c.memory_id LIMIT %s"
    )


SCOPE_ROWS_SQL = (
    "SELECT COALESCE(sum(n) FILTER (WHERE owner = ANY(%s)), 0),"
    " COALESCE(sum(n) FILTER (WHERE owner = 't'), 0)"
    " FROM scope_rows WHERE tenant = %s AND owner = ANY(%s)"
)


def scope_owners(user_id: str | None) -> list[str]:
    """The `scope_rows` keys a scope covers: the tenant's total, or a user's and shared."""
    return ["t"] if user_id is None else [f"u:{user_id}", "s"]


__all__ = ["EXACT_SHARE_K", "KEYWORD_BUDGET", "NARROW_PER_CANDIDATE", "RANK_NORM",
           "SCOPE_ROWS_SQL", "broad_keyword_sql", "keyword_narrow", "narrow_keyword_sql",
           "scope_owners", "vector_exact", "within_budget"]
