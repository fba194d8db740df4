"""Budgeted seed selection (active data augmentation): which prompts are worth a teacher's GPU time.

Pure functions over arrays; the `select` stage reads the run folder and writes ``selection.jsonl``.

- ``random``: a seeded shuffle (SHA-256 of ``seed:prompt_id``) cut per persona.
- ``kcenter``: greedy farthest-first traversal over a user representation (see :func:`user_features`), run
  per persona: each pick is the user farthest (cosine distance) from every user already picked, so the
  selection covers the space of tastes instead of its dense middle.
- ``uncertainty``: users whose target a cheap collaborative recommender finds hardest (see
  :func:`uncertainty_scores` for the exact score).

Every strategy keeps the pool's persona proportions (largest-remainder quotas of the budget), so the
generated set stays balanced across personas whatever the strategy favours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from distillrecdial_kit.generation.personas import quotas

STRATEGIES = ("random", "kcenter", "uncertainty")


def persona_quotas(personas: Sequence[str], budget: int) -> dict[str, int]:
    """How many of the budget each persona gets: its share of the pool, largest remainder, capped by its size."""
    names = sorted(set(personas))
    sizes = {name: 0 for name in names}
    for persona in personas:
        sizes[persona] += 1
    total = len(personas)
    return quotas(min(budget, total), {name: sizes[name] / total for name in names}) if total else {}


def farthest_first(x: np.ndarray, k: int, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center on L2-normalised rows: indices picked in order and each one's distance when picked.

    The distance of a pick is its cosine distance to the nearest earlier pick (the first pick gets 1.0), so
    the sequence of scores is the covering radius shrinking as the budget grows. One matrix-vector product
    per pick: O(k·n·d) time, O(n) extra memory.
    """
    n = x.shape[0]
    k = min(k, n)
    picked = np.empty(k, dtype=np.int64)
    radius = np.empty(k, dtype=np.float64)
    if k == 0:
        return picked, radius
    nearest = np.full(n, np.inf)
    current, distance = first, 1.0
    for step in range(k):
        picked[step], radius[step] = current, distance
        nearest = np.minimum(nearest, 1.0 - x @ x[current])
        nearest[picked[: step + 1]] = -np.inf
        current = int(np.argmax(nearest))  # ties → lowest index: deterministic
        distance = float(nearest[current])
    return picked, radius


def user_features(
    user_items: sp.csr_matrix,
    item_features: sp.csr_matrix,
    review_texts: Sequence[str],
    dims: int,
    seed: int,
) -> np.ndarray:
    """A dense, L2-normalised taste vector per user.

    Facts: the TF-IDF-weighted sum of the user's items' facts (``user_items`` users x items, weights for
    target and history; ``item_features`` items x facts such as genres, keywords, people, collection, the
    item itself). Words: TF-IDF of the review texts the prompts show. Both blocks are normalised, stacked
    and reduced with truncated SVD to ``dims`` dimensions (seeded), so distances compare tastes, not
    vocabulary sizes.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
    from sklearn.preprocessing import normalize

    facts = TfidfTransformer(sublinear_tf=True).fit_transform(user_items @ item_features)
    blocks = [facts]
    if any(review_texts):
        words = TfidfVectorizer(stop_words="english", min_df=2, max_features=50_000, sublinear_tf=True)
        with contextlib.suppress(ValueError):  # every review word is rare or a stop word: no vocabulary
            blocks.append(words.fit_transform(review_texts))
    x = normalize(sp.hstack(blocks).tocsr())
    rank = min(dims, x.shape[1] - 1, x.shape[0] - 1)
    if rank >= 1:
        x = TruncatedSVD(n_components=rank, algorithm="randomized", random_state=seed).fit_transform(x)
    else:
        x = x.toarray()
    return normalize(x).astype(np.float64)


def uncertainty_scores(scores: sp.csr_matrix, targets: np.ndarray, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """How unsure a recommender is about each user's target, in [0, 1]; higher = less certain.

    ``scores`` is users x items, sparse and non-negative (higher = recommended first; an absent entry scores
    0), ``targets`` each user's target column, and ``exclude`` the items that are no candidates (the user's
    history). The score is the mean of

    - the target's normalised rank, ``(r - 1) / (n - 1)`` over the ``n`` candidates, with ``r`` = 1 + the
      candidates scored higher than the target + half those tied with it (0 when it is ranked first alone,
      1 when last, 0.5 when every candidate scores alike), and
    - the normalised entropy of the candidates' scores taken as a distribution, ``H(p) / log n`` with
      ``p = s / sum(s)`` over candidates with ``s > 0`` (1 when every candidate scores alike, including
      all zero: the recommender knows nothing about this user).

    Computed on the stored entries only, so a chunk of users costs its non-zeros, not users x catalog.
    """
    scores = sp.csr_matrix(scores, dtype=np.float64, copy=True)
    users, n_items = scores.shape
    excluded = np.zeros(users)
    if exclude is not None:
        mask = sp.csr_matrix(exclude, dtype=bool, copy=True)
        owner = np.repeat(np.arange(users), np.diff(mask.indptr))
        mask.data &= mask.indices != targets[owner]  # the target is always a candidate
        mask.eliminate_zeros()
        excluded = np.diff(mask.indptr)
        scores = scores - scores.multiply(mask)
    scores.eliminate_zeros()
    candidates = n_items - excluded
    row = np.repeat(np.arange(users), np.diff(scores.indptr))
    target = np.asarray(scores[np.arange(users), targets]).ravel()
    above = np.bincount(row, weights=scores.data > target[row], minlength=users)
    positive = np.diff(scores.indptr)
    # Ties: stored entries equal to a positive target score, or every unstored candidate when it scores 0.
    equal = np.bincount(row, weights=scores.data == target[row], minlength=users)
    ties = np.where(target > 0, equal - 1, candidates - positive - 1)
    rank_part = (above + ties / 2.0) / np.maximum(candidates - 1, 1)
    total = np.bincount(row, weights=scores.data, minlength=users)
    p = scores.data / total[row]
    entropy = -np.bincount(row, weights=p * np.log(p), minlength=users)
    entropy_part = np.where(total > 0, entropy / np.log(np.maximum(candidates, 2)), 1.0)
    return (rank_part + entropy_part) / 2.0
