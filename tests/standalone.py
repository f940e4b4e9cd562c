"""A standalone model scored the way its model card tells a user to, with plain transformers."""

import contextlib
import io
import re
from pathlib import Path
from typing import Any


def card_scores(directory: Path, texts: list[str]) -> list[dict[str, float]]:
    """Every label's score per text, from running the Python block of the model's README."""
    card = (directory / "README.md").read_text()
    found = re.search(r"```python\n(.*?)```", card, re.DOTALL)
    assert found is not None, card
    code = found.group(1).replace("path/to/this/directory", str(directory))
    code = code.replace('["your text"]', repr(texts))
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, namespace)
    if "classifier" in namespace:
        answers = namespace["classifier"](texts)
        return [{item["label"]: item["score"] for item in answer} for answer in answers]
    labels = namespace["model"].config.id2label
    return [
        {labels[index]: float(score) for index, score in enumerate(row)}
        for row in namespace["logits"].softmax(-1)
    ]


def best(scores: dict[str, float]) -> tuple[str, float]:
    label = max(scores, key=scores.__getitem__)
    return label, scores[label]
