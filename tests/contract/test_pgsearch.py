"""The PostgreSQL store's search strategies: keyword_index and scope_rows follow every
write, both keyword paths rank alike, and the choices between paths."""

from __future__ import annotations

import psycopg
import pytest

import memvault
import memvault.stores.postgres_tx as pg_tx
from memvault.embed import HashEmbedder
from memvault.stores import pgsearch
from memvault.stores.base import Filters
from memvault.textindex import query_terms
from memvault.types import Scope


def test_budget_keeps_the_rarest_terms_in_order() -> None:
    df = {"a": 4000, "b": 10, "c": 900, "d": 9000}
    assert pgsearch.within_budget(["a", "b", "c", "d"], df, 5000) == ["a", "b", "c"]
    assert pgsearch.within_budget(["a", "b", "c", "d"], df, 100) == ["b"]
    assert pgsearch.within_budget(["d"], df, 100) == ["d"]  # the rarest always stays


def test_path_choices() -> None:
    assert pgsearch.keyword_narrow(1_100, 1_000) and not pgsearch.keyword_narrow(21_000, 1_000)
    assert pgsearch.vector_exact(10_100, 1_000_000)  # a 1% share of 1M: exact
    assert not pgsearch.vector_exact(210_000, 1_000_000)
    assert not pgsearch.vector_exact(5_000, 100_000)  # 5% of 100k: the planner chooses


def _side_tables(pg_url: str) -> tuple[dict[tuple[str, str], int], dict[str, tuple[str, str]]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT set_config('memvault.tenant', '*', false)")
        counts = {(t, o): int(n) for t, o, n in conn.execute(
            "SELECT tenant, owner, n FROM scope_rows WHERE n <> 0")}
        want = {(t, memvault_owner(u)): int(n) for t, u, n in conn.execute(
            "SELECT tenant, user_id, count(*) FROM memories GROUP BY 1, 2")}
        want.update({(t, "t"): int(n) for t, n in conn.execute(
            "SELECT tenant, count(*) FROM memories GROUP BY 1")})
        assert counts == want
        kw = {i: (t, str(s)) for i, t, s in conn.execute(
            "SELECT memory_id, tenant, tsv FROM keyword_index")}
        expect = {i: (t, str(s)) for i, t, s in conn.execute(
            "SELECT id, tenant, memvault_hashed_tsv(tsv) FROM memories"
            " WHERE tsv <> ''::tsvector")}
        assert kw == expect
        return counts, kw


def memvault_owner(user: str | None) -> str:
    return "s" if user is None else f"u:{user}"


def test_side_tables_follow_writes(pg_url: str) -> None:
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        a = v.remember("apples and pears", user_id="u")
        v.remember("apples and plums", user_id="w", tenant="t2")
        v.remember("shared cherries")
        b = v.remember("cherries", user_id="u")
        v.update(b.id, content="cherries and apples")
        v.forget(user_id="w", tenant="t2")  # tombstones keep their row, lose their terms
        v.update(a.id, importance=0.9)
        counts, kw = _side_tables(pg_url)
        assert counts[("default", "u:u")] == 2 and counts[("default", "t")] == 3
        assert len(kw) == 3 and all("apple" not in s for _, s in kw.values())
        with v.store.read() as tx:
            assert tx.scope_rows(Scope("default", "u")) == (3, 3)
            assert tx.scope_rows(Scope("t2")) == (1, 1)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT set_config('memvault.tenant', '*', false)")
        conn.execute("DELETE FROM vectors")
        conn.execute("DELETE FROM memories WHERE id = %s", (a.id,))
    counts, kw = _side_tables(pg_url)
    assert counts[("default", "u:u")] == 1 and a.id not in kw


@pytest.mark.parametrize("user", [None, "u1"])
def test_keyword_paths_rank_alike(pg_url: str, user: str | None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    words = ["apple", "pear", "plum", "cherry", "garden", "river", "stone", "cloud"]
    with memvault.open(pg_url, embedder=HashEmbedder(), extractor="none") as v:
        for i in range(120):
            text = " ".join(words[(i * k) % len(words)] for k in range(1, 2 + i % 5))
            v.add([{"role": "user", "content": f"{text} note {i}"}],
                  user_id=f"u{i % 3}" if i % 4 else None, infer=False)
        got = {}
        for narrow in (True, False):
            monkeypatch.setattr(pg_tx, "keyword_narrow", lambda a, b, n=narrow: n)
            with v.store.read() as tx:
                got[narrow] = [tx.keyword_search(Scope("default", user), query_terms(q),
                                                 Filters(), 20)
                               for q in ("apple garden", "plum stone cloud", "river", "zzz")]
        assert got[True] == got[False] and all(got[True][:3])
        monkeypatch.setattr(pg_tx, "keyword_narrow", lambda a, b: False)
        v.store.keyword_budget = 1  # only the rarest term: fewer candidates, same scores
        with v.store.read() as tx:
            few = tx.keyword_search(Scope("default", user), ["apple", "note"], Filters(), 20)
            assert few and all(s > 0 for _, s in few)
