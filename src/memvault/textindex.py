"""Pure text normalisation for the keyword index: the same function on both sides.

Documents and queries are lowercased, split into words, stripped of stop words and
lightly stemmed *here*, in Python, and the SQLite FTS5 table indexes the result with a
plain tokenizer. Doing it here (instead of FTS5's porter tokenizer) means the vault knows
the exact indexed terms, so it can look up their document frequencies and keep the
keyword leg bounded when a query holds very common words.

Scope tokens are added to each indexed row so a keyword query can be narrowed to one
tenant / user inside the index itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves also tell know remember told said say mentioned ask asked recall previous
    previously earlier conversation chat talked talk us let lets get got im ive id youre dont
    didnt doesnt isnt wasnt cant wont thats its it's i'm i've""".split()
)
MAX_TERMS = 32


def stem(word: str) -> str:
    """A light, conservative English suffix stripper (plural, -ing, -ed, -ly)."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_stem in (("ies", "y", 2), ("sses", "ss", 2), ("ing", "", 3),
                                   ("edly", "", 3), ("ed", "", 3), ("ly", "", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            return word[: len(word) - len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Indexed terms of a text, in order (stop words dropped, stemmed)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or (len(w) == 1 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out


def query_terms(text: str) -> list[str]:
    """Distinct indexed terms of a query, order kept, capped."""
    return list(dict.fromkeys(words(text)))[:MAX_TERMS]


def _token(*parts: str | None) -> str:
    raw = "\x1f".join(p if p is not None else "\x00" for p in parts)
    return "zz" + hashlib.blake2b(raw.encode("utf-8"), digest_size=8).hexdigest()


def tenant_token(tenant: str) -> str:
    return _token("t", tenant)


def user_token(tenant: str, user_id: str | None) -> str:
    """The token of a user's rows; user_id None is the tenant's shared workspace."""
    return _token("u", tenant, user_id)


ALL_TOKEN = "zzall"  # in every row: its document frequency is the index size


def index_text(content: str, tenant: str, user_id: str | None) -> str:
    """What the FTS table indexes for a memory: its terms plus its scope tokens."""
    return " ".join([*words(content), tenant_token(tenant), user_token(tenant, user_id),
                     ALL_TOKEN])


@dataclass(frozen=True)
class KeywordPlan:
    terms: tuple[str, ...]
    use_scope_tokens: bool
    inner_limit: int


MATCH_BUDGET = 6_000  # matching rows the kept terms may have in all (the rarest is kept)
SCOPE_TOKEN_SHARE = 0.1  # narrow by scope tokens only for scopes under this share of rows


def within_budget(terms: Sequence[str], df: Mapping[str, int],
                  budget: int | None) -> list[str]:
    """`terms` (their order and repeats kept) without the commonest ones past `budget`:
    the distinct terms, rarest first, while their document counts add up to at most
    `budget`; the rarest always stays; None keeps them all. Pure; both stores use it."""
    keep: set[str] = set()
    total = 0
    for t in sorted(set(terms), key=lambda t: (df.get(t, 0), t)):
        if keep and budget is not None and total + df.get(t, 0) > budget:
            break
        keep.add(t)
        total += df.get(t, 0)
    return [t for t in terms if t in keep]


def plan_keyword_query(terms: list[str], df: dict[str, int], n_all: int, n_scope: int,
                       limit: int, budget: int | None = MATCH_BUDGET) -> KeywordPlan:
    """Bound the keyword leg's cost (pure). FTS5's bm25() reads the whole posting list of
    every phrase in the match once per query (for its IDF), then scores every matching
    row, so the cost follows the document counts of the phrases matched.

    - Terms in more than max(1000, 1% of the scope) rows are dropped while rarer terms
      remain (their posting lists cost the most and, by IDF, weigh the least); if all are
      common, the two rarest are. Of those, the rarest are kept while their document
      counts add up to at most `budget` (the rarest always; None: no budget). Stores
      under ~100k rows rarely reach MATCH_BUDGET; at 1M it trades a little agreement
      with the unbudgeted ranking for a bounded cost (docs/performance.md).
    - Scope tokens narrow the match inside the index only when the scope is under a tenth
      of the index: bm25() reads the scope tokens' posting lists too, which costs more
      than it saves for a broad scope. Otherwise the inner ranking is widened so that
      about twice the rows asked for are expected inside the scope.
    """
    present = [t for t in terms if df.get(t, 0) > 0]
    cutoff = max(1000, n_scope // 100)
    two_rarest = set(sorted(set(present), key=lambda t: (df[t], t))[:2])
    rare = [t for t in present if df[t] <= cutoff] or [t for t in present if t in two_rarest]
    kept = within_budget(rare, df, budget)
    selective = n_scope < SCOPE_TOKEN_SHARE * n_all
    widen = 1 if selective else max(1, min(10, round(n_all / max(1, n_scope))))
    return KeywordPlan(tuple(kept), selective, limit * 2 * widen)
