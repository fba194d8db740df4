"""From raw dialogues to the published dataset: validation, splits, the configs' rows, the Hub folder, push,
the CRSLab export and the first release's import.

It may import ``pipeline``, the loading script ``distillrecdial`` (Features and descriptions), ``generation``
(the dialogue format, records) and ``dataset_card`` (the card is rendered below the build, from its data).
"""
