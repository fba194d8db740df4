"""Run-folder plumbing shared by every stage: atomic writes, the manifest, problem logs, the CLI."""
