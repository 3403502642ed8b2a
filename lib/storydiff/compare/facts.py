"""Facts: claims from different articles of one story that state the same thing.

Two claims match when their embeddings' cosine reaches the same-claim threshold (see
``storydiff.compare.sameclaim``). Matches are grouped into facts greedily, strongest first,
under one rule: a fact holds at most one claim per article. A claim that matches two claims of
another article (a compound sentence that the other outlet split in two) therefore ends up in two
facts. A claim joins an existing fact only when its mean similarity to the fact's claims reaches
the threshold, so chains of loose matches do not pile up into one fact. Claims that match nothing
are facts of their own (reported by one article only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from storydiff.compare.sameclaim import SAME_CLAIM_THRESHOLD

MATCH_COLUMNS = ["claim_id_a", "claim_id_b", "article_a", "article_b", "similarity", "story_id"]
FACT_COLUMNS = ["fact_id", "claim_id", "article_id", "story_id", "n_articles", "text"]


def order_claims(claims: pd.DataFrame, embeddings: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Claims sorted by (article_id, claim_id) with their embedding rows moved along."""
    order = np.lexsort((claims["claim_id"].to_numpy(), claims["article_id"].to_numpy()))
    return claims.iloc[order].reset_index(drop=True), embeddings[order]


def match_claims(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    threshold: float = SAME_CLAIM_THRESHOLD,
) -> pd.DataFrame:
    """All pairs of claims from different articles of one story with cosine >= ``threshold``.

    ``embeddings`` is (n_claims, dim), L2-normalised, row i for ``claims`` row i. Returns
    MATCH_COLUMNS, claim_id_a from the article that sorts first, sorted by story, ids.
    """
    story_of = stories.set_index("article_id")["story_id"]
    story = claims["article_id"].map(story_of).to_numpy()
    articles = claims["article_id"].to_numpy()
    ids = claims["claim_id"].to_numpy()
    rows = []
    for story_id in sorted(set(story)):
        idx = np.flatnonzero(story == story_id)
        if len(set(articles[idx])) < 2:
            continue
        sims = embeddings[idx] @ embeddings[idx].T
        for li, lj in zip(*np.nonzero(np.triu(sims >= threshold, k=1))):
            i, j = idx[li], idx[lj]
            if articles[i] == articles[j]:
                continue
            a, b = (i, j) if (articles[i], ids[i]) < (articles[j], ids[j]) else (j, i)
            rows.append((ids[a], ids[b], articles[a], articles[b], float(sims[li, lj]), story_id))
    matches = pd.DataFrame(rows, columns=MATCH_COLUMNS)
    return matches.sort_values(["story_id", "claim_id_a", "claim_id_b"]).reset_index(drop=True)


def _mean_similarity(members_a: list[int], members_b: list[int], embeddings: np.ndarray) -> float:
    """Mean cosine between two sets of claim rows."""
    return float((embeddings[members_a] @ embeddings[members_b].T).mean())


def group_facts(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    matches: pd.DataFrame,
    stories: pd.DataFrame,
    threshold: float = SAME_CLAIM_THRESHOLD,
) -> pd.DataFrame:
    """Group matched claims into facts (module docstring); every claim is in at least one fact.

    ``claims`` and ``embeddings`` as for ``match_claims``; ``matches`` its output. Returns
    FACT_COLUMNS, one row per claim in a fact, fact_id ``F001``... numbered in the order of the
    facts' first claim (claims sorted by article_id, claim_id).
    """
    claims, embeddings = order_claims(claims, embeddings)
    claim_ids, texts, article_of = (claims[c].tolist() for c in ("claim_id", "text", "article_id"))
    row_of = {cid: i for i, cid in enumerate(claim_ids)}
    facts: list[dict[str, int]] = []  # article_id -> claim row; emptied when merged away
    facts_of: dict[int, list[int]] = {}
    ranked = matches.sort_values(
        ["similarity", "claim_id_a", "claim_id_b"], ascending=[False, True, True]
    )
    for x_id, y_id in zip(ranked["claim_id_a"].tolist(), ranked["claim_id_b"].tolist()):
        x, y = row_of[x_id], row_of[y_id]
        fx_list, fy_list = facts_of.setdefault(x, []), facts_of.setdefault(y, [])
        if set(fx_list) & set(fy_list):
            continue
        placed = False
        for fx in fx_list:
            for fy in fy_list:
                members_x, members_y = list(facts[fx].values()), list(facts[fy].values())
                if facts[fx].keys() & facts[fy].keys():
                    continue
                if _mean_similarity(members_x, members_y, embeddings) >= threshold:
                    for member in members_y:
                        facts_of[member] = [fx if f == fy else f for f in facts_of[member]]
                    facts[fx].update(facts[fy])
                    facts[fy] = {}
                    placed = True
                    break
            if placed:
                break
        for new, existing in ((y, fx_list), (x, fy_list)):
            if placed:
                break
            for f in existing:
                if article_of[new] not in facts[f] and (
                    _mean_similarity([new], list(facts[f].values()), embeddings) >= threshold
                ):
                    facts[f][article_of[new]] = new
                    facts_of[new].append(f)
                    placed = True
                    break
        if not placed:
            facts.append({article_of[x]: x, article_of[y]: y})
            fx_list.append(len(facts) - 1)
            fy_list.append(len(facts) - 1)
    groups = [sorted(f.values()) for f in facts if f]
    linked = {row for group in groups for row in group}
    groups += [[row] for row in range(len(claims)) if row not in linked]
    groups.sort()
    story_of = dict(zip(stories["article_id"].tolist(), stories["story_id"].tolist()))
    width = max(3, len(str(len(groups))))
    rows = []
    for number, group in enumerate(groups, start=1):
        for row in group:
            rows.append(
                (f"F{number:0{width}d}", claim_ids[row], article_of[row], story_of[article_of[row]], len(group), texts[row])
            )
    return pd.DataFrame(rows, columns=FACT_COLUMNS)


def link_facts(
    claims: pd.DataFrame,
    embeddings: np.ndarray,
    stories: pd.DataFrame,
    threshold: float = SAME_CLAIM_THRESHOLD,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(facts, matches)`` for ``claims`` (embeddings (n, dim) L2-normalised, row-aligned).

    ``matches`` gains a ``linked`` column: the two claims share a fact.
    """
    matches = match_claims(claims, embeddings, stories, threshold)
    facts = group_facts(claims, embeddings, matches, stories, threshold)
    fact_sets: dict[str, set[str]] = {}
    for claim_id, fact_id in zip(facts["claim_id"].tolist(), facts["fact_id"].tolist()):
        fact_sets.setdefault(claim_id, set()).add(fact_id)
    matches["linked"] = [
        bool(fact_sets.get(a, set()) & fact_sets.get(b, set()))
        for a, b in zip(matches["claim_id_a"].tolist(), matches["claim_id_b"].tolist())
    ]
    return facts, matches
