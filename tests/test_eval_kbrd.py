"""`kbrd`: CRSLab 0.1.2's KBRD trained by CRSLab itself on the sample's export, ranking item ids."""

from __future__ import annotations

import numpy as np
import pytest
import test_build

from distillrecdial_kit.evaluation.data import load_data
from distillrecdial_kit.evaluation.evaluate import EvalOptions, _histories, evaluate, train_data
from distillrecdial_kit.evaluation.kbrd import KBRD
from distillrecdial_kit.evaluation.ranking import Catalog, rank_targets
from distillrecdial_kit.evaluation.tasks import recommend_examples

pytest.importorskip("crslab", reason="install with: pip install --no-deps crslab==0.1.2")
pytest.importorskip("torch_geometric")

built = test_build.built  # the sample built into RUN/hub, shared with the build tests (module-scoped)


@pytest.fixture(scope="module")
def trained(built):
    data = load_data(built)
    catalog = Catalog(data.item_ids)
    method = KBRD(epochs=6, seed=3)
    method.fit(train_data(data, catalog, _histories(data)))
    return data, catalog, method


def test_kbrd_trains_through_crslab_and_its_loss_falls(trained):
    _, _, method = trained
    losses = method.losses
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert losses[-1] < losses[0] * 0.9
    assert method.describe()["loss_per_epoch"][0] == pytest.approx(losses[0], abs=1e-4)


def test_kbrd_scores_every_catalog_item_by_its_id(trained):
    data, catalog, method = trained
    examples = recommend_examples(data.crslab["test"].to_dicts(), _histories(data))
    scores = method.score(examples)
    assert scores.shape == (len(examples), len(catalog))
    # Each catalog column is that item's own entity score: the export names every item, in any order.
    assert (method.item_entity >= 0).all()
    assert len(set(method.item_entity.tolist())) == len(catalog)
    ranks, _ = rank_targets(method.score, examples, catalog, seed=0)
    assert ranks.min() >= 1 and ranks.max() <= len(catalog)
    # The context changes the ranking (0.1.2's zero user vector would make every row the same).
    assert not np.allclose(scores[0], scores[-1])


def test_kbrd_through_evaluate(built):
    results = evaluate(load_data(built), EvalOptions(methods=["kbrd"], kbrd_epochs=2, resamples=100))
    stats = results["recommend"]["kbrd"]["all"]
    assert 0.0 <= stats["recall@50"] <= 1.0 and stats["recall@50_ci"] is not None
    assert len(results["provenance"]["methods"]["kbrd"]["loss_per_epoch"]) == 2
