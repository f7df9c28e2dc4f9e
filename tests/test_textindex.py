"""The keyword index's text normalisation and its cost bound (pure), and both query paths."""

from __future__ import annotations

from pathlib import Path

import pytest

import memvault
from memvault.embed import HashEmbedder
from memvault.textindex import (
    MATCH_BUDGET,
    index_text,
    plan_keyword_query,
    query_terms,
    stem,
    words,
)


def test_words_drop_stopwords_and_stem() -> None:
    assert words("I was hiking in the Alps with my dogs") == ["hik", "alp", "dog"]
    assert stem("classes") == "class" and stem("status") == "status" and stem("berries") == "berry"
    assert query_terms("dogs and DOGS, dog!") == ["dog"]


def test_index_text_carries_scope_tokens_but_not_raw_ids() -> None:
    text = index_text("Coffee at noon", "acme", "alice")
    assert "alice" not in text and "acme" not in text and text.startswith("coffee noon zz")


def test_plan_drops_common_terms_but_keeps_two_rarest_when_all_common() -> None:
    df = {"a": 50_000, "b": 200, "c": 3_000, "d": 0}
    plan = plan_keyword_query(["a", "b", "c", "d"], df, n_all=100_000, n_scope=100_000, limit=10)
    assert plan.terms == ("b",)
    plan = plan_keyword_query(["a", "c", "e"], {"a": 2_500, "c": 2_000, "e": 9_000},
                              100_000, 100_000, 10)
    assert plan.terms == ("a", "c")  # the two rarest, in the query's order
    # ... within the budget: the rarest alone when the second would exceed it
    plan = plan_keyword_query(["a", "c"], {"a": 50_000, "c": 3_000}, 100_000, 100_000, 10)
    assert plan.terms == ("c",)


def test_plan_keeps_the_rarest_terms_within_the_match_budget() -> None:
    n = 2_000_000  # 1% of the scope: terms up to 20,000 rows pass the per-term cutoff
    df = {"w": 3_900, "x": 3_000, "y": 2_500, "z": 9_000, "v": 600}  # w..v: 10,000
    plan = plan_keyword_query(["w", "x", "y", "z", "v", "x"], df, n, n, 50, budget=10_000)
    assert plan.terms == ("w", "x", "y", "v", "x")  # rarest first until the budget; repeats kept
    plan = plan_keyword_query(["w", "x", "y", "z", "v"], df, n, n, 50)
    assert sum(df[t] for t in plan.terms) <= MATCH_BUDGET and "v" in plan.terms
    unbudgeted = plan_keyword_query(["w", "x", "y", "z", "v"], df, n, n, 50, budget=None)
    assert unbudgeted.terms == ("w", "x", "y", "z", "v")
    small = {t: d // 10 for t, d in df.items()}  # a smaller store: all fit
    assert plan_keyword_query(["w", "x", "z"], small, 200_000, 200_000, 50).terms == ("w", "x", "z")


def test_plan_uses_scope_tokens_only_when_selective() -> None:
    small = plan_keyword_query(["x"], {"x": 5}, n_all=100_000, n_scope=1_000, limit=10)
    broad = plan_keyword_query(["x"], {"x": 5}, n_all=100_000, n_scope=20_000, limit=10)
    big = plan_keyword_query(["x"], {"x": 5}, n_all=100_000, n_scope=90_000, limit=10)
    assert small.use_scope_tokens and small.inner_limit == 20
    # a fifth of the index: bm25() would read the scope tokens' long posting lists
    assert not broad.use_scope_tokens and broad.inner_limit == 20 * 5
    assert not big.use_scope_tokens and big.inner_limit >= 20


def test_small_tenant_beside_a_big_one_finds_its_rows(vault: memvault.Vault) -> None:
    vault.add([f"kayak trip number {i}" for i in range(60)], user_id="big", tenant="t1",
              infer=False)
    mine = vault.remember("my kayak is red", user_id="small", tenant="t2")
    hits = vault.search("kayak", user_id="small", tenant="t2")
    assert [h.memory.id for h in hits] == [mine.id]
    big_hits = vault.search("kayak trip", user_id="big", tenant="t1", k=20)
    assert len(big_hits) == 20 and all(h.memory.tenant == "t1" for h in big_hits)


def test_hash_embedder_is_deterministic() -> None:
    a, b = HashEmbedder().embed(["same text"]), HashEmbedder().embed(["same text"])
    assert (a == b).all()


def test_keyword_budget_setting_reaches_the_store(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from memvault.config import load_settings

    monkeypatch.setenv("MEMVAULT_KEYWORD_BUDGET", "2500")
    with memvault.open(f"sqlite:///{tmp_path / 'a.db'}", embedder="hash",
                       settings=load_settings()) as vault:
        assert vault.store.match_budget == 2_500  # type: ignore[attr-defined]
    monkeypatch.setenv("MEMVAULT_KEYWORD_BUDGET", "0")
    with memvault.open(f"sqlite:///{tmp_path / 'b.db'}", embedder="hash",
                       settings=load_settings()) as vault:
        assert vault.store.match_budget is None  # type: ignore[attr-defined]
    monkeypatch.setenv("MEMVAULT_KEYWORD_BUDGET", "lots")
    with pytest.raises(memvault.ConfigError, match="keyword_budget"):
        load_settings()
