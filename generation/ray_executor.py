"""`generate --executor ray`: the same backends as a local run, as replicas on a Ray cluster through Ray Data.

The driver (the machine running `distillrecdial generate`) keeps everything
that makes a run safe: it picks the prompts not yet done, owns the shard file
and writes every record through the same :class:`ShardWriter`. Ray Data only
carries prompts out and records back: each actor (:class:`Replica`) loads one
backend engine once — a vLLM replica holding ``tensor_parallel_size`` GPUs, a
transformers model, an OpenAI client or the template writer — and turns
batches of prompts into finished raw records with `generate`'s own
``make_record``. Records stream back in whatever order replicas finish and are
appended durably batch by batch, so a killed driver loses at most the batches
in flight, and its rerun skips what the shard holds before dispatching the rest.
Records are byte-identical to a local run's: the dialogue id, the generator
and every per-prompt seed are computed from the prompt, never from placement.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.backends import ModelSpec, Sampling
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
    """`generate`'s executor options (kept here so `generate.py` only dispatches)."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this process runs the backend; ray: replicas of it on a Ray cluster (pip install "
        "'distillrecdial[ray]'), records written here into the same raw store",
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
class RayJob:
    """What every replica needs to turn a prompt into the exact record a local run writes."""

    backend: str
    spec: ModelSpec
    sampling: Sampling
    generator: dict[str, Any]
    walks: bool


@dataclass
class RayOutcome:
    """What the driver wrote, and on what cluster: the figures `generate` reports and records."""

    written: int = 0
    valid: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    executor: dict[str, Any] = field(default_factory=dict)


class Replica:
    """One Ray Data actor: the backend is loaded once, in the constructor, then reused for every batch."""

    def __init__(
        self, backend: str, spec: dict[str, Any], sampling: dict[str, Any], generator: dict[str, Any], walks: bool
    ):
        from distillrecdial_kit.generation.generator import load_backend
        from distillrecdial_kit.generation.records import make_record
        from distillrecdial_kit.generation.walk_check import make_walk_record

        self.sampling = Sampling(**sampling)
        self.generator = generator
        self.new_record = make_walk_record if walks else make_record
        self.backend: Any = None
        self.fatal = ""
        try:
            self.backend = load_backend(backend, ModelSpec(**spec))
        except StageError as err:  # handed to the driver as its one-line error, not a replica traceback
            self.fatal = str(err)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Prompts (JSON bytes) → records (JSON bytes), or the name of the error a prompt raised.

        A replica whose backend did not load answers every prompt with that error (``fatal``): the driver
        stops with it as one line, before writing anything.
        """
        prompts = [orjson.loads(raw) for raw in batch["prompt"]]
        keys = [str(key) for key in batch["dialogue_id"]]
        if self.backend is None:
            return {
                "dialogue_id": keys,
                "record": [b""] * len(keys),
                "error": [""] * len(keys),
                "fatal": [self.fatal] * len(keys),
            }
        records: list[bytes] = []
        errors: list[str] = []
        for prompt, key, result in zip(prompts, keys, self.backend.generate(prompts, self.sampling), strict=True):
            if isinstance(result, Exception):
                records.append(b"")
                errors.append(type(result).__name__)
            else:
                records.append(orjson.dumps(self.new_record(prompt, result, self.generator, key)))
                errors.append("")
        return {"dialogue_id": keys, "record": records, "error": errors, "fatal": [""] * len(keys)}


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


def generate_on_ray(
    args: argparse.Namespace,
    job: RayJob,
    todo: list[dict[str, Any]],
    ids: dict[str, str],
    shard_path: Path,
    on_start: Callable[[], None],
) -> RayOutcome:
    """Generate ``todo`` on Ray replicas, appending each finished batch to ``shard_path`` as it arrives.

    ``on_start`` runs when the first batch is back (a replica has loaded the backend), as a local run claims
    the folder only once its backend has loaded.
    """
    ray = import_ray()
    started = connect(ray, getattr(args, "ray_address", None))
    try:
        quiet_ray_data(ray)
        cluster = cluster_size(ray)
        plan = replica_plan(job.backend, job.spec.options, cluster, getattr(args, "ray_replicas", None))
        outcome = RayOutcome(executor={"name": "ray", "cluster": cluster, **plan})
        note(
            "generate",
            f"Ray cluster of {cluster['nodes']} node(s), {cluster['cpus']} CPUs, {cluster['gpus']} GPUs: "
            f"{plan['replicas']} {job.backend} replica(s)"
            + (f" of {plan['gpus_per_replica']} GPU(s)" if plan["gpus_per_replica"] else ""),
        )
        spec = asdict(job.spec) | {"options": replica_options(job.backend, job.spec.options, plan["gpus_per_replica"])}
        rows = [{"dialogue_id": ids[p["prompt_id"]], "prompt": orjson.dumps(p)} for p in todo]
        blocks = max(1, -(-len(rows) // args.batch_size))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            Replica,
            fn_constructor_kwargs={
                "backend": job.backend,
                "spec": spec,
                "sampling": job.sampling.as_dict(),
                "generator": job.generator,
                "walks": job.walks,
            },
            batch_size=args.batch_size,
            compute=ray.data.ActorPoolStrategy(size=plan["replicas"]),
            num_cpus=plan["cpus_per_replica"],
            num_gpus=plan["gpus_per_replica"] or None,
        )
        seen: set[str] = set()
        claimed = False
        try:
            with (
                ExitStack() as files,
                progress(total=len(todo), desc=f"generate {args.role} (ray)", unit="dlg") as bar,
            ):
                for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                    fatal = next((text for text in batch["fatal"].to_pylist() if text), None)
                    if fatal:
                        raise StageError(fatal)
                    if not claimed:  # opened only now, so a replica that failed to load leaves no file behind
                        on_start()
                        writer = files.enter_context(ShardWriter(shard_path))
                        claimed = True
                    records = []
                    for key, raw, error in zip(
                        batch["dialogue_id"].to_pylist(),
                        batch["record"].to_pylist(),
                        batch["error"].to_pylist(),
                        strict=True,
                    ):
                        if key in seen:  # a batch a restarted replica delivered twice: written once
                            continue
                        seen.add(key)
                        if error:
                            outcome.failures[error] += 1
                            continue
                        record = orjson.loads(raw)
                        outcome.valid += record["valid"]
                        outcome.problems.update(p.split(":")[0] for p in record["problems"])
                        records.append(record)
                    outcome.written += writer.write(records)
                    bar.update(batch.num_rows)
        except Exception as err:  # Ray wraps a replica's error (a StageError too) in its own types
            raise ray_error(err) from err
        return outcome
    finally:
        if started:
            ray.shutdown()
