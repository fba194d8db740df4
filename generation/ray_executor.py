"""`generate` / `rationales --executor ray`: the same backends as a local run, as replicas on a Ray cluster.

The driver (the machine running `distillrecdial generate` or `rationales`) keeps everything
that makes a run safe: it picks the prompts not yet done, owns the shard file
and writes every record through the same :class:`ShardWriter`. Ray Data only
carries prompts out and records back: each actor (:class:`Replica`) loads one
backend engine once — a vLLM replica holding ``tensor_parallel_size`` GPUs, a
transformers model, an OpenAI client or the template writer — and turns
batches of prompts into finished records with the stage's own
``make_record`` (:class:`RayJob` names both functions: they are all that
differs between the stages). Records stream back in whatever order replicas finish and are
appended durably batch by batch, so a killed driver loses at most the batches
in flight, and its rerun skips what the shard holds before dispatching the rest.
Records are byte-identical to a local run's: the record id, the generator
and every per-prompt seed are computed from the prompt, never from placement;
and the driver counts finish reasons, failures and the backend's retries as a
local run does, so the two summaries are the same.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.backends import ModelSpec, Sampling, finish_reason
from distillrecdial_kit.generation.raw_store import ShardWriter
from distillrecdial_kit.pipeline.console import note, progress
from distillrecdial_kit.pipeline.errors import StageError

INSTALL_HINT = "pip install 'distillrecdial[ray]' (ray[data]==2.60.0) on the driver and on every node"
#: The import name the code lives under, and its packages shipped to the cluster with the job, so replicas run the
#: driver's exact code.
PACKAGE = "distillrecdial_kit"
SHIPPED_PACKAGES = ("generation", "pipeline")
#: Where `generate` runs its backend: in this process, or on Ray replicas.
EXECUTORS = ("local", "ray")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The executor options of `generate` and `rationales` (kept here so the stages only dispatch)."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this process runs the backend; ray: replicas of it on a Ray cluster (pip install "
        "'distillrecdial[ray]'), records written here into the same store",
    )
    parser.add_argument(
        "--ray-address",
        help="Ray cluster to join (`auto`, or the head's HOST:PORT); default: RAY_ADDRESS, else a local instance",
    )
    parser.add_argument(
        "--ray-replicas",
        type=int,
        help="backend replicas on the cluster (default: GPUs // GPUs per replica for vllm and transformers on GPUs, "
        "the cluster's CPUs for template, else 1)",
    )


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: typed, so a stage's config carries it (never the parsed command line)."""

    address: str | None = None
    replicas: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RayOptions:
        return cls(getattr(args, "ray_address", None), getattr(args, "ray_replicas", None))


@dataclass(frozen=True)
class RayJob:
    """What every replica needs to turn a prompt into the exact record a local run writes.

    ``load`` and ``make_record`` are what differ between stages (module-level functions, so they travel to the
    replicas by name and run the shipped code): ``load(backend, spec)`` returns the loaded backend,
    ``make_record(prompt, response, generator, key)`` the stored record.
    """

    stage: str
    backend: str
    spec: ModelSpec
    sampling: Sampling
    generator: dict[str, Any]
    load: Callable[[str, ModelSpec], Any]
    make_record: Callable[[Any, str, dict[str, Any], str], dict[str, Any]]


@dataclass
class RayOutcome:
    """What the driver wrote, and on what cluster: the counts a local run keeps, and the executor's provenance."""

    written: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    finishes: Counter[str] = field(default_factory=Counter)  # why generation stopped, as a local run counts
    retries: int = 0  # the backend's retries (openai), summed over replicas
    executor: dict[str, Any] = field(default_factory=dict)
    # `generate`'s own tallies, filled by :func:`generate_on_ray`
    valid: int = 0
    problems: Counter[str] = field(default_factory=Counter)


class Replica:
    """One Ray Data actor: the backend is loaded once, in the constructor, then reused for every batch."""

    def __init__(self, job: RayJob):
        self.job = job
        self.backend: Any = None
        self.fatal = ""
        try:
            self.backend = job.load(job.backend, job.spec)
        except StageError as err:  # handed to the driver as its one-line error, not a replica traceback
            self.fatal = str(err)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Prompts (JSON bytes) → records (JSON bytes), or the name of the error a prompt raised.

        Each row also carries its finish reason, and the batch's first row the retries the backend needed for it,
        so the driver's counts are a local run's. A replica whose backend did not load answers every prompt with
        that error (``fatal``): the driver stops with it as one line, before writing anything.
        """
        keys = [str(key) for key in batch["key"]]
        empty = [""] * len(keys)
        if self.backend is None:
            return {
                "key": keys,
                "record": [b""] * len(keys),
                "error": empty,
                "finish": empty,
                "retries": [0] * len(keys),
                "fatal": [self.fatal] * len(keys),
            }
        prompts = [orjson.loads(raw) for raw in batch["prompt"]]
        before = getattr(self.backend, "retries", 0)
        results = self.backend.generate(prompts, self.job.sampling)
        retries = [0] * len(keys)
        if keys:
            retries[0] = getattr(self.backend, "retries", 0) - before
        records: list[bytes] = []
        errors: list[str] = []
        finishes: list[str] = []
        for prompt, key, result in zip(prompts, keys, results, strict=True):
            if isinstance(result, Exception):
                records.append(b"")
                errors.append(type(result).__name__)
                finishes.append("")
            else:
                records.append(orjson.dumps(self.job.make_record(prompt, result, self.job.generator, key)))
                errors.append("")
                finishes.append(finish_reason(result))
        return {
            "key": keys,
            "record": records,
            "error": errors,
            "finish": finishes,
            "retries": retries,
            "fatal": empty,
        }


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # the extra must bring Ray Data, not only the core
    except ImportError as err:
        raise StageError(f"--executor ray needs Ray Data: {INSTALL_HINT} ({err})") from err
    return ray


def connect(ray: Any, address: str | None) -> bool:
    """Join ``address`` (or RAY_ADDRESS, or start a local instance); True when this call started the connection.

    The job ships this checkout's packages to the cluster (Ray uploads them once per job), so replicas run the
    driver's exact code; only the libraries (Ray, the backend's engine) must be installed on every node. A
    process that joined Ray itself (a notebook, the tests) keeps its own job settings.
    """
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, runtime_env=shipped_code())
    except (ConnectionError, RuntimeError, ValueError) as err:
        detail = (str(err).strip().splitlines() or [""])[0][:300]
        raise StageError(f"could not join the Ray cluster at {address or 'a local instance'}: {detail}") from err
    return True


def cluster_size(ray: Any) -> dict[str, int]:
    """CPUs, GPUs and live nodes of the cluster: recorded with the run, and what the replica count derives from."""
    resources = ray.cluster_resources()
    return {
        "nodes": sum(1 for node in ray.nodes() if node.get("Alive")),
        "cpus": int(resources.get("CPU", 0)),
        "gpus": int(resources.get("GPU", 0)),
    }


def replica_plan(
    backend: str, options: dict[str, Any], cluster: dict[str, int], replicas: int | None
) -> dict[str, Any]:
    """Resources of one replica and how many run: a vLLM replica takes ``tensor_parallel_size`` × pipeline GPUs."""
    gpus = 0
    if backend == "vllm" and cluster["gpus"]:
        gpus = int(options.get("tensor_parallel_size", 1)) * int(options.get("pipeline_parallel_size", 1))
    elif backend == "transformers" and cluster["gpus"]:
        gpus = 1
    if gpus:
        fit = cluster["gpus"] // gpus
        if fit < 1:
            raise StageError(f"one {backend} replica needs {gpus} GPUs; the Ray cluster has {cluster['gpus']}")
        default = fit
    else:
        default = max(1, cluster["cpus"]) if backend == "template" else 1
    count = default if replicas is None else replicas
    if count < 1:
        raise StageError("--ray-replicas must be at least 1")
    return {"replicas": count, "gpus_per_replica": gpus, "cpus_per_replica": 1}


def replica_options(backend: str, options: dict[str, Any], gpus: int) -> dict[str, Any]:
    """Backend options as a replica runs them: a multi-GPU vLLM replica shards the model over its own GPUs.

    Ray gives the actor its GPUs (CUDA_VISIBLE_DEVICES); vLLM's multiprocessing executor then spreads
    tensor-parallel ranks over exactly those, instead of asking Ray for GPUs the actor already holds.
    """
    if backend == "vllm" and gpus > 1:
        return {"distributed_executor_backend": "mp", **options}
    return dict(options)


def shipped_code() -> dict[str, Any]:
    """A runtime environment that carries this checkout's packages to every replica.

    Ray makes a shipped folder importable by its own name, so the packages are staged under a folder named like the
    import name (``distillrecdial_kit/generation``, ...) and replicas import them exactly as the driver does.
    """
    import atexit
    import importlib
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="distillrecdial-ray-")
    atexit.register(shutil.rmtree, folder, True)
    stage = Path(folder) / PACKAGE
    for name in SHIPPED_PACKAGES:
        source = Path(importlib.import_module(f"{PACKAGE}.{name}").__file__).parent
        shutil.copytree(source, stage / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return {"py_modules": [str(stage)]}


def quiet_ray_data(ray: Any) -> None:
    """`generate` draws its own progress bar and summary; Ray Data's bars and per-run log lines would interleave."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def ray_error(err: BaseException) -> StageError:
    """One line for what failed on the cluster: the replica's own message (a backend that would not load) if any."""
    chain: list[BaseException] = [err]
    while len(chain) < 20:
        inner = getattr(chain[-1], "cause", None) or chain[-1].__cause__ or chain[-1].__context__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    for cause in reversed(chain):
        if isinstance(cause, StageError):
            lines = [line for line in str(cause).splitlines() if line.strip()]
            return StageError(lines[-1] if lines else str(cause))
    for cause in reversed(chain):
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        if lines:
            detail = next((line for line in reversed(lines) if "Error" in line), lines[-1])[:300]
            if detail.startswith(f"{StageError.__module__}.StageError: "):  # a replica's own one-line error
                return StageError(detail.split(": ", 1)[1])
            return StageError(f"--executor ray: the cluster run failed: {detail}; rerun to resume")
    return StageError(f"--executor ray: the cluster run failed: {type(err).__name__}; rerun to resume")


def run_on_ray(
    options: RayOptions,
    job: RayJob,
    todo: list[tuple[str, Any]],
    shard_path: Path,
    on_start: Callable[[], None],
    batch_size: int,
    desc: str,
    unit: str,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> RayOutcome:
    """Run ``todo`` (``(key, prompt)`` pairs) on Ray replicas, appending each finished batch to ``shard_path``.

    ``on_start`` runs when the first batch is back (a replica has loaded the backend), as a local run claims
    the folder only once its backend has loaded; ``on_record`` sees every record written (the stage's tallies).
    """
    ray = import_ray()
    started = connect(ray, options.address)
    try:
        quiet_ray_data(ray)
        cluster = cluster_size(ray)
        plan = replica_plan(job.backend, job.spec.options, cluster, options.replicas)
        outcome = RayOutcome(executor={"name": "ray", "cluster": cluster, **plan})
        note(
            job.stage,
            f"Ray cluster of {cluster['nodes']} node(s), {cluster['cpus']} CPUs, {cluster['gpus']} GPUs: "
            f"{plan['replicas']} {job.backend} replica(s)"
            + (f" of {plan['gpus_per_replica']} GPU(s)" if plan["gpus_per_replica"] else ""),
        )
        spec = replace(job.spec, options=replica_options(job.backend, job.spec.options, plan["gpus_per_replica"]))
        rows = [{"key": key, "prompt": orjson.dumps(prompt)} for key, prompt in todo]
        blocks = max(1, -(-len(rows) // batch_size))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            Replica,
            fn_constructor_kwargs={"job": replace(job, spec=spec)},
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=plan["replicas"]),
            num_cpus=plan["cpus_per_replica"],
            num_gpus=plan["gpus_per_replica"] or None,
        )
        try:
            with ExitStack() as files, progress(total=len(todo), desc=desc, unit=unit) as bar:
                writer: ShardWriter | None = None
                seen: set[str] = set()
                for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                    fatal = next((text for text in batch["fatal"].to_pylist() if text), None)
                    if fatal:
                        raise StageError(fatal)
                    if writer is None:  # opened only now, so a replica that failed to load leaves no file behind
                        on_start()
                        writer = files.enter_context(ShardWriter(shard_path))
                    records = []
                    for key, raw, error, finish, retries in zip(
                        batch["key"].to_pylist(),
                        batch["record"].to_pylist(),
                        batch["error"].to_pylist(),
                        batch["finish"].to_pylist(),
                        batch["retries"].to_pylist(),
                        strict=True,
                    ):
                        if key in seen:  # a batch a restarted replica delivered twice: written and counted once
                            continue
                        seen.add(key)
                        outcome.retries += retries
                        if error:
                            outcome.failures[error] += 1
                            continue
                        outcome.finishes[finish] += 1
                        record = orjson.loads(raw)
                        if on_record is not None:
                            on_record(record)
                        records.append(record)
                    outcome.written += writer.write(records)
                    bar.update(batch.num_rows)
        except Exception as err:  # Ray wraps a replica's error (a StageError too) in its own types
            raise ray_error(err) from err
        return outcome
    finally:
        if started:
            ray.shutdown()


def generate_on_ray(
    options: RayOptions,
    job: RayJob,
    todo: list[dict[str, Any]],
    ids: dict[str, str],
    shard_path: Path,
    on_start: Callable[[], None],
    batch_size: int,
    role: str,
) -> RayOutcome:
    """`generate`'s prompts on Ray: :func:`run_on_ray` plus its valid and problem tallies."""
    valid = [0]
    problems: Counter[str] = Counter()

    def tally(record: dict[str, Any]) -> None:
        valid[0] += record["valid"]
        problems.update(p.split(":")[0] for p in record["problems"])

    pairs = [(ids[p["prompt_id"]], p) for p in todo]
    outcome = run_on_ray(options, job, pairs, shard_path, on_start, batch_size, f"generate {role} (ray)", "dlg", tally)
    outcome.valid, outcome.problems = valid[0], problems
    return outcome
