"""The house rules of the code, checked on its import graph and its stage modules.

Packages are layered; a module imports only its own package and the layers below it, so no arrow runs back up
and the packages cannot form a cycle. No module imports a stage's module (what one stage needs of another
lives in a shared home: the run layout, the dialogue format, the record shapes), and every stage has the same
shape (a frozen config dataclass and ``run(config) -> summary``), so the CLI, Python callers and tests drive
them alike.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import typing
from pathlib import Path

import pytest

from distillrecdial_kit.pipeline.cli import STAGES
from tests.conftest import ROOT

NAME = "distillrecdial_kit"
#: Bottom to top. `distillrecdial` is the `datasets` loading script: it stands alone on the Hub, so it imports no
#: project module at all; the CLI (pipeline/cli.py) loads stages by name at run time, not by import.
LAYERS = ("pipeline", "distillrecdial", "generation", "dataset_card", "builder", "evaluation", "train_student")
PACKAGES = ("pipeline", "generation", "dataset_card", "builder", "evaluation")


def product_modules() -> dict[str, Path]:
    """Every module of the installed package, by dotted name under ``distillrecdial_kit``."""
    modules = {"distillrecdial": ROOT / "distillrecdial.py", "train_student": ROOT / "train_student.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth (lazy imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


MODULES = product_modules()


def test_every_project_import_goes_through_the_one_installed_name():
    """`import builder` would work from a checkout and break (or shadow another package) once installed."""
    generic = {*PACKAGES, "distillrecdial", "train_student"}
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: import {module}"
        for path in [*MODULES.values(), *ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py")]
        for line, module in imports_of(path)
        if module.split(".")[0] in generic
    ]
    assert wrong == []


def test_no_import_runs_up_the_layers():
    up = []
    for name, path in MODULES.items():
        own = LAYERS.index(name.split(".")[0])
        for line, module in imports_of(path):
            if not module.startswith(f"{NAME}."):
                continue
            target = module.split(".")[1]
            if target not in LAYERS:
                continue
            if name.split(".")[0] == "distillrecdial" or LAYERS.index(target) > own:
                up.append(f"{path.relative_to(ROOT)}:{line}: {name.split('.')[0]} → {target} ({module})")
    assert up == []


def test_no_module_imports_a_stage_module():
    """A stage's module is its command: what another stage needs of it belongs in a shared home."""
    stage_modules = {module for module, _ in STAGES.values()}
    reaching = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for name, path in MODULES.items()
        for line, module in imports_of(path)
        if module in stage_modules and module != f"{NAME}.{name}"
    ]
    assert reaching == []


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_stage_is_a_typed_config_and_run(stage: str):
    module = importlib.import_module(STAGES[stage][0])
    for function in ("add_arguments", "config_from_args", "run", "summary_lines"):
        assert callable(getattr(module, function, None)), f"{stage}: no {function}()"
    hints = typing.get_type_hints(module.run)
    config = hints.get(next(iter(inspect.signature(module.run).parameters)))
    assert dataclasses.is_dataclass(config), f"{stage}: run() takes {config!r}, not a config dataclass"
    assert config.__dataclass_params__.frozen, f"{stage}: {config.__name__} is not frozen"
    assert typing.get_type_hints(module.config_from_args)["return"] is config
    assert typing.get_origin(hints["return"]) is dict, f"{stage}: run() returns {hints['return']!r}, not a summary"


def test_each_package_says_what_lives_there_and_what_it_may_import():
    for package in PACKAGES:
        doc = importlib.import_module(f"{NAME}.{package}").__doc__ or ""
        assert "import" in doc, f"{package}/__init__.py: the docstring does not say what the package may import"
