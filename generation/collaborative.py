"""Collaborative signal of the k-core: item-item similarity of co-interaction.

Shared by `evaluate`'s item-kNN recommender and `select`'s uncertainty strategy, so both mean the same thing.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def cosine_item_similarity(interactions: sp.spmatrix, neighbours: int | None = None) -> sp.csr_matrix:
    """Item x item cosine of co-interaction (users x items binary matrix in), self-similarity removed.

    ``neighbours`` keeps only each item's most similar items (ties: lower item index), the classic
    neighbourhood of item-kNN; it bounds a user's score row when popular items co-occur with everything.
    """
    x = interactions.astype(np.float64)
    co = (x.T @ x).tocsr()
    norms = np.sqrt(co.diagonal())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    sim = (sp.diags(inv) @ co @ sp.diags(inv)).tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    if neighbours is not None:
        sim.sort_indices()
        rows = np.repeat(np.arange(sim.shape[0]), np.diff(sim.indptr))
        order = np.lexsort((sim.indices, -sim.data, rows))  # per row: most similar first
        position = np.empty_like(order)
        position[order] = np.arange(order.size) - sim.indptr[rows[order]]
        sim.data[position >= neighbours] = 0.0
        sim.eliminate_zeros()
    return sim.astype(np.float32)
