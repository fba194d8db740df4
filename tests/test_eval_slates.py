"""Slate retrieval (Talk the Walk) in `evaluate`: contexts before each slate, exclusion, Hits@k, end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import test_build

from distillrecdial_kit.evaluation.slates import slate_examples, slate_hits
from distillrecdial_kit.pipeline.cli import main

built = test_build.built

ROW = {
    "dialogue_id": "d1",
    "user_id": "u1",
    "persona": "history_only_explorer",
    "valid": True,
    "slates": [["A", "B"], ["C", "A2"]],
    "turns": [
        {"role": "user", "content": "I loved <id_S>. More like it?"},
        {"role": "assistant", "content": "Try <id_A> or <id_B>."},
        {"role": "user", "content": "<id_A> please, but darker."},
        {"role": "assistant", "content": "Then <id_C> and <id_A2>."},
    ],
}


def test_each_slate_is_predicted_from_the_context_before_it_with_mentioned_items_excluded():
    slates = slate_examples([ROW, {**ROW, "dialogue_id": "bad", "valid": False}], {"S": "Seven", "A": "Alien"})
    assert [(s.conv_id, s.index, [e.target for e in s.items]) for s in slates] == [
        ("d1", 0, ["A", "B"]),
        ("d1", 1, ["C", "A2"]),
    ]
    first, second = slates[0].items[0], slates[1].items[0]
    assert first.seeker_text == "I loved Seven. More like it?" and first.mentioned == ("S",)
    assert second.seeker_text == "I loved Seven. More like it? Alien please, but darker."
    assert second.mentioned == ("S", "A", "B")  # the first slate's items are no longer candidates


def test_hits_at_k_is_the_share_of_a_slates_items_in_the_top_k():
    slates = slate_examples([ROW], {})
    hits = slate_hits(np.array([1, 60, 11, 12]), slates, cutoffs=(10, 50))
    assert hits["hits@10"].tolist() == [0.5, 0.0] and hits["hits@50"].tolist() == [0.5, 1.0]


@pytest.fixture(scope="module")
def walked(built, tmp_path_factory):
    run = tmp_path_factory.mktemp("walked") / "run"
    shutil.copytree(built, run)
    assert main(["walks", "--run", str(run), "-q"]) == 0
    assert main(["generate", "--run", str(run), "--role", "teacher", "--prompts", "walks", "-q"]) == 0
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template", "-q"]) == 0
    return run


def test_evaluate_reports_slate_retrieval_per_persona(walked):
    out = walked / "eval-slates"
    assert main(["evaluate", "--run", str(walked), "--out", str(out), "--tasks", "slates", "--bootstrap", "50"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["slates"]) == {"bm25", "item_knn"}
    n = results["n"]["slates"]
    assert n["all"] == sum(v for k, v in n.items() if k != "all") > 0
    for groups in results["slates"].values():
        for stats in groups.values():
            lo, hi = stats["hits@10_ci"]
            assert 0.0 <= lo <= stats["hits@10"] <= hi <= 1.0 and stats["hits@10"] <= stats["hits@50"]
    assert "Slate retrieval" in (out / "eval.md").read_text()


def test_slates_without_walks_is_one_line(built, tmp_path, capsys):
    args = ["evaluate", "--run", str(built), "--out", str(tmp_path / "e"), "--tasks", "slates"]
    assert main(args) == 2
    assert "needs the `walks` config" in capsys.readouterr().err
