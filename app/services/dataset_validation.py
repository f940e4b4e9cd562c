"""The rules every dataset passes before it is stored; all violations are collected.

Rows are checked one at a time as they are read, keeping only what each label needs (its
count and first row), so that a dataset of any length is checked in bounded memory. The
checks that compare rows with each other (one text labeled two ways, exact duplicates) run
where the rows are stored; see `app.services.datasets`."""

from collections import Counter
from collections.abc import Iterable
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
    max_reported_errors: int


def limits_from(settings: Settings) -> DatasetLimits:
    return DatasetLimits(
        max_examples=settings.max_examples,
        max_text_chars=settings.max_text_chars,
        imbalance_warning_ratio=settings.imbalance_warning_ratio,
        max_labels=settings.max_labels,
        max_reported_errors=settings.max_reported_errors,
    )


@dataclass(frozen=True)
class DatasetSummary:
    num_examples: int
    label_counts: dict[str, int]
    multi_label: bool
    warnings: list[str]


class DatasetRejected(ValueError):
    """`errors` are the first problems in file order; `total` counts every one."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.total = len(errors) if total is None else total
        super().__init__(f"{self.total} problem(s) in the dataset")
        self.errors = errors


WHOLE_DATASET = -1
"""The reading order of a problem with the whole dataset: before every row's."""


@dataclass
class ErrorLog:
    """Keeps the first `keep` errors it is given, each with its place in reading order (the
    row's index, or WHOLE_DATASET), and counts the rest."""

    keep: int
    kept: list[tuple[int, RowError]] = field(default_factory=list)
    total: int = 0

    def add(self, order: int, error: RowError) -> None:
        self.total += 1
        if len(self.kept) < self.keep:
            self.kept.append((order, error))


def rejection(logs: Iterable[ErrorLog], keep: int) -> DatasetRejected:
    """One rejection from logs that each hold their first errors in reading order: together
    they hold the first `keep` of all."""
    logs = list(logs)
    kept = sorted((entry for log in logs for entry in log.kept), key=lambda entry: entry[0])
    return DatasetRejected([error for _, error in kept[:keep]], sum(log.total for log in logs))


class RowChecks:
    """Checks rows in the order they are read and keeps per-label aggregates."""

    def __init__(self, limits: DatasetLimits) -> None:
        self.limits = limits
        self.errors = ErrorLog(limits.max_reported_errors)
        self.counts: Counter[str] = Counter()
        self.first_row: dict[str, tuple[int, str]] = {}
        self.items = 0
        self.multi_label: bool | None = None
        self.rows = 0
        self.examples = 0
        self.labels_over_limit: set[str] = set()

    @property
    def over_limits(self) -> bool:
        """Past a size limit, the dataset is refused whatever else its rows hold."""
        return self.rows > self.limits.max_examples or bool(self.labels_over_limit)

    def check(self, item: RawRow | RowError) -> LabeledExample | None:
        """The row's example, or None where it has a problem or the dataset is refused."""
        order = self.items
        self.items += 1
        if isinstance(item, RowError):
            self.errors.add(order, item)
            return None
        self.rows += 1
        if self.multi_label is None:
            self.multi_label = item.multi_label
        example, problems = example_of(item, self.multi_label, self.limits.max_text_chars)
        for problem in problems:
            self.errors.add(order, RowError(item.location, problem))
        if example is None or self.rows > self.limits.max_examples:
            return None
        if self._brings_a_label_over_the_limit(example.labels) or self.labels_over_limit:
            return None
        self.examples += 1
        self.counts.update(example.labels)
        for label in example.labels:
            self.first_row.setdefault(label, (order, item.location))
        return example

    def _brings_a_label_over_the_limit(self, labels: tuple[str, ...]) -> bool:
        new = [label for label in labels if label not in self.counts]
        if len(self.counts) + len(new) <= self.limits.max_labels:
            return False
        if len(self.labels_over_limit) < LABELS_COUNTED_OVER_THE_LIMIT:
            self.labels_over_limit.update(new)
        return True

    def limit_errors(self) -> ErrorLog:
        log = ErrorLog(self.limits.max_reported_errors)
        if self.rows > self.limits.max_examples:
            log.add(
                WHOLE_DATASET,
                RowError("file", f"{self.rows} examples; the limit is {self.limits.max_examples}"),
            )
        elif self.labels_over_limit:
            distinct = len(self.counts) + len(self.labels_over_limit)
            counted_all = len(self.labels_over_limit) < LABELS_COUNTED_OVER_THE_LIMIT
            log.add(
                WHOLE_DATASET,
                RowError(
                    "file",
                    f"{'' if counted_all else 'at least '}{distinct} distinct labels; the limit is "
                    f"{self.limits.max_labels} (ADAPTD_MAX_LABELS); merge rare labels or "
                    "split the task",
                ),
            )
        return log

    def class_errors(self) -> ErrorLog:
        log = ErrorLog(self.limits.max_reported_errors)
        if not self.counts and not self.errors.total:
            log.add(WHOLE_DATASET, RowError("file", "no examples found; add rows under the header"))
        if len(self.counts) == 1:
            (only,) = self.counts
            log.add(
                WHOLE_DATASET,
                RowError(
                    "dataset", f"the dataset has one class ({only!r}); at least two are needed"
                ),
            )
        singletons = sorted(
            (*self.first_row[label], label) for label, count in self.counts.items() if count == 1
        )
        for order, location, label in singletons:
            log.add(order, RowError(location, _singleton(label)))
        return log

    def summary(self, duplicates: int) -> DatasetSummary:
        return DatasetSummary(
            num_examples=self.examples,
            label_counts=dict(sorted(self.counts.items())),
            multi_label=bool(self.multi_label),
            warnings=_warnings(self.counts, duplicates, self.limits),
        )


LABELS_COUNTED_OVER_THE_LIMIT = 10_000


def _singleton(label: str) -> str:
    return f"label {label!r} has only this example; each label needs at least 2"


def example_of(
    row: RawRow, multi_label: bool, max_text_chars: int
) -> tuple[LabeledExample | None, list[str]]:
    """The row as an example, or the problems that keep it from being one."""
    text, text_error = _clean_text(row.text, max_text_chars)
    labels, label_error = _labels_of(row, multi_label)
    problems = [message for message in (text_error, label_error) if message]
    return (None if problems else LabeledExample(text, labels)), problems


def conflicting_labelings(
    rows: Iterable[RawRow | RowError], texts: set[str], limits: DatasetLimits, multi_label: bool
) -> ErrorLog:
    """Among rows whose text is one of `texts`: each that labels its text differently from
    the text's first row. `rows` are read as `RowChecks` read them, so that the two agree on
    each row's place in reading order."""
    log = ErrorLog(limits.max_reported_errors)
    first_seen: dict[str, tuple[str, str]] = {}
    for order, row in enumerate(rows):
        if not isinstance(row, RawRow) or not isinstance(row.text, str):
            continue
        if row.text.strip() not in texts:
            continue
        example, _ = example_of(row, multi_label, limits.max_text_chars)
        if example is None:
            continue
        labels = _shown(example.labels)
        earlier = first_seen.setdefault(example.text, (labels, row.location))
        if earlier[0] != labels:
            log.add(
                order,
                RowError(
                    row.location,
                    f"the same text is labeled {earlier[0]} at {earlier[1]} "
                    f"and {labels} here; keep one labeling",
                ),
            )
    return log


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


def _warnings(counts: Counter[str], duplicates: int, limits: DatasetLimits) -> list[str]:
    warnings = []
    (largest, most), (smallest, fewest) = counts.most_common()[0], counts.most_common()[-1]
    if most / fewest >= limits.imbalance_warning_ratio:
        warnings.append(
            f"class imbalance: {largest!r} has {most} examples and {smallest!r} has {fewest} "
            f"(ratio {most / fewest:.1f}); consider more examples of the small classes"
        )
    if duplicates:
        warnings.append(
            f"{duplicates} exact duplicate example(s) (same text and label); "
            "each copy counts in training"
        )
    return warnings
