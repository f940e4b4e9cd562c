"""What the commands print: tables and lines for people, JSON for scripts (`--json`)."""

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

IDENTIFIERS = frozenset({"id", "model", "dataset", "alias"})
UNBOUNDED_WIDTH = 10_000


@dataclass
class Output:
    json_mode: bool
    console: Console
    errors: Console

    @classmethod
    def create(cls, json_mode: bool) -> "Output":
        return cls(json_mode, Console(highlight=False), Console(stderr=True, highlight=False))

    def emit(self, value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
        """The value as JSON on stdout."""
        print(json.dumps(to_jsonable(value), indent=2), file=sys.stdout, flush=True)

    def emit_lines(self, values: Iterable[dict[str, Any]]) -> None:
        for value in values:
            print(json.dumps(value), file=sys.stdout, flush=True)

    def table(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        to_errors: bool = False,
    ) -> None:
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            if column in IDENTIFIERS:
                table.add_column(column, no_wrap=True)
            else:
                table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell_text(cell)) for cell in row))
        _print_whole(self.errors if to_errors else self.console, table)

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def note(self, text: str) -> None:
        """Information for people; on stderr, so it never mixes with what scripts read."""
        self.errors.print(text, markup=False)


def _print_whole(console: Console, table: Table) -> None:
    """A table wider than the console is printed at its own width (the terminal wraps its
    lines), rather than squeezing columns to nothing or cutting identifiers short."""
    needed = Measurement.get(console, console.options.update(width=UNBOUNDED_WIDTH), table)
    if needed.maximum > console.width:
        console = Console(file=console.file, width=needed.maximum, highlight=False)
    console.print(table)


def to_jsonable(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return [item.model_dump(mode="json") for item in value]


def cell_text(cell: Any) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, datetime):
        return cell.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, float):
        return f"{cell:.3f}"
    if isinstance(cell, dict | list):
        return json.dumps(cell)
    return str(cell)
