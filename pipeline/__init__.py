"""The bottom layer: run-folder plumbing every stage shares, and the command line.

Here live the run folder's layout and the loaders of its artefacts (:mod:`~pipeline.layout`), the shape of a
stage (:mod:`~pipeline.stage`), atomic writes, the manifest, problem logs, the tolerant JSONL reader, locks,
fault points, seeded choices (:mod:`~pipeline.seeded`) and the console. It imports no other package of the
project. The CLI (:mod:`~pipeline.cli`) is the one exception in spirit: it sits on top of everything, but loads
each stage by name only when that stage runs, so no import arrow leaves this package.
"""
