"""From source dumps to prompts, LLM dialogues and the student's SFT set.

The stages prepare, select, walks, generate, merge, rationales, distill and models live here, with what they
share: the dialogue format (:mod:`~generation.dialogue_parser`), the record shapes and their one constructor
(:mod:`~generation.records`), the generator's settings and provenance (:mod:`~generation.generator`), the
backends (:mod:`~generation.backends`) and the known local models (:mod:`~generation.models`). It may import
only ``pipeline``; no module here imports a stage's module.
"""
