"""The dataset card and the report: statistics computed from the data, rendered into the Hub README.

It may import ``pipeline``, ``distillrecdial`` (the configs' Features) and ``generation`` (the dialogue
format); never ``builder``, which renders the card and so sits above it.
"""
