"""The rules every dataset passes before it is stored; all violations are collected."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.core.config import Settings
from app.ml.data import LabeledExample
from app.services.dataset_files import RawRow, RowError

MAX_LABEL_CHARS = 200


@dataclass(frozen=True)
class DatasetLimits:
    max_examples: int
    max_text_chars: int
    imbalance_warning_ratio: float
    max_labels: int


def limits_from(settings: Settings) -> DatasetLimits:
    return DatasetLimits(
        max_examples=settings.max_examples,
        max_text_chars=settings.max_text_chars,
        imbalance_warning_ratio=settings.imbalance_warning_ratio,
        max_labels=settings.max_labels,
    )


@dataclass
class ValidatedDataset:
    examples: list[LabeledExample]
    label_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    multi_label: bool = False


class DatasetRejected(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the dataset")
        self.errors = errors


def validate_rows(
    rows: list[RawRow], limits: DatasetLimits, errors: list[RowError] | None = None
) -> ValidatedDataset:
    errors = list(errors or [])
    if len(rows) > limits.max_examples:
        errors.append(RowError("file", f"{len(rows)} examples; the limit is {limits.max_examples}"))
        raise DatasetRejected(errors)
    multi_label = bool(rows) and rows[0].multi_label
    examples, locations = [], []
    for row in rows:
        text, text_error = _clean_text(row.text, limits.max_text_chars)
        labels, label_error = _labels_of(row, multi_label)
        row_errors = [message for message in (text_error, label_error) if message]
        errors.extend(RowError(row.location, message) for message in row_errors)
        if not row_errors:
            examples.append(LabeledExample(text, labels))
            locations.append(row.location)
    errors.extend(_conflicting_duplicates(examples, locations))
    counts = Counter(label for example in examples for label in example.labels)
    if len(counts) > limits.max_labels:
        errors.append(
            RowError(
                "file",
                f"{len(counts)} distinct labels; the limit is {limits.max_labels} "
                "(ADAPTD_MAX_LABELS); merge rare labels or split the task",
            )
        )
        raise DatasetRejected(errors)
    if not counts and not errors:
        errors.append(RowError("file", "no examples found; add rows under the header"))
    errors.extend(_class_errors(counts, examples, locations))
    if errors:
        raise DatasetRejected(sorted(errors, key=_file_order))
    return ValidatedDataset(
        examples, dict(sorted(counts.items())), _warnings(examples, counts, limits), multi_label
    )


def _file_order(error: RowError) -> tuple[int, str]:
    """Whole-file problems first, then rows in the order they appear."""
    digits = "".join(character for character in error.location if character.isdigit())
    return (int(digits) if digits else -1, error.location)


def _clean_text(value: Any, max_chars: int) -> tuple[str, str | None]:
    if value is None:
        return "", "text is missing"
    if not isinstance(value, str):
        return "", f"text must be a string, not {type(value).__name__}"
    text = value.strip()
    if not text:
        return "", "text is empty"
    if "\x00" in text:
        return "", "text contains a NUL character"
    if len(text) > max_chars:
        return "", f"text has {len(text)} characters; the limit is {max_chars}"
    return text, None


def _labels_of(row: RawRow, multi_label: bool) -> tuple[tuple[str, ...], str | None]:
    if row.multi_label != multi_label:
        kind = "a list of labels" if multi_label else "one label"
        return (
            (),
            f"every row of this dataset gives {kind}, as its first row does; so must this one",
        )
    if not multi_label:
        label, error = _clean_label(row.label)
        return (label,), error
    if not isinstance(row.label, list):
        return (), f"labels must be a list of strings, not {type(row.label).__name__}"
    cleaned = [_clean_label(value) for value in row.label]
    errors = [error for _, error in cleaned if error]
    if errors:
        return (), errors[0].replace("label", "a label", 1)
    return tuple(dict.fromkeys(label for label, _ in cleaned)), None


def _clean_label(value: Any) -> tuple[str, str | None]:
    if value is None:
        return "", "label is missing"
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return "", f"label must be a string, not {type(value).__name__}"
    label = value.strip()
    if not label:
        return "", "label is empty"
    if len(label) > MAX_LABEL_CHARS or "\x00" in label:
        return "", f"label must be 1-{MAX_LABEL_CHARS} characters without NUL"
    return label, None


def _shown(labels: tuple[str, ...]) -> str:
    return repr(labels[0]) if len(labels) == 1 else repr(sorted(labels))


def _conflicting_duplicates(examples: list[LabeledExample], locations: list[str]) -> list[RowError]:
    first_seen: dict[str, tuple[str, str]] = {}
    errors = []
    for example, location in zip(examples, locations, strict=True):
        labels = _shown(example.labels)
        earlier = first_seen.setdefault(example.text, (labels, location))
        if earlier[0] != labels:
            errors.append(
                RowError(
                    location,
                    f"the same text is labeled {earlier[0]} at {earlier[1]} "
                    f"and {labels} here; keep one labeling",
                )
            )
    return errors


def _class_errors(
    counts: Counter[str], examples: list[LabeledExample], locations: list[str]
) -> list[RowError]:
    if not counts:
        return []
    errors = []
    if len(counts) < 2:
        (only,) = counts
        errors.append(
            RowError("dataset", f"the dataset has one class ({only!r}); at least two are needed")
        )
    for example, location in zip(examples, locations, strict=True):
        errors.extend(
            RowError(
                location,
                f"label {label!r} has only this example; each label needs at least 2",
            )
            for label in example.labels
            if counts[label] == 1
        )
    return errors


def _warnings(
    examples: list[LabeledExample], counts: Counter[str], limits: DatasetLimits
) -> list[str]:
    warnings = []
    (largest, most), (smallest, fewest) = counts.most_common()[0], counts.most_common()[-1]
    if most / fewest >= limits.imbalance_warning_ratio:
        warnings.append(
            f"class imbalance: {largest!r} has {most} examples and {smallest!r} has {fewest} "
            f"(ratio {most / fewest:.1f}); consider more examples of the small classes"
        )
    duplicates = len(examples) - len(set(examples))
    if duplicates:
        warnings.append(
            f"{duplicates} exact duplicate example(s) (same text and label); "
            "each copy counts in training"
        )
    return warnings
