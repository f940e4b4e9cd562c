"""A job's live progress bar (step, epoch, loss, ETA), fed by its event stream."""

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from adaptd.client import JobUpdate

_SHOWN_EVENTS = {"state", "metrics", "warning", "error", "info"}


class JobProgressBar:
    """Prints each logged event above the bar (epoch scores, warnings, state changes, but
    not the training loss every 50 steps, which the bar shows) and keeps the bar current."""

    def __init__(self, console: Console, job_id: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[epoch]}"),
            TextColumn("{task.fields[loss]}"),
            TextColumn("{task.fields[eta]}"),
            console=console,
            transient=False,
        )
        self.task: TaskID = self.progress.add_task(job_id, total=None, epoch="", loss="", eta="")
        self.last_sequence = 0

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, update: JobUpdate) -> None:
        event = update.event
        if event is not None and event.sequence > self.last_sequence:
            self.last_sequence = event.sequence
            if event.type in _SHOWN_EVENTS and not _is_step_loss(event.data):
                self.progress.console.print(f"{event.type:>8}  {event.message}", markup=False)
        progress = update.progress
        total = progress.total_steps
        done = total if update.status == "succeeded" and total else progress.step or 0
        epoch = f"epoch {progress.epoch}/{progress.epochs}" if progress.epochs else ""
        loss = f"loss {progress.loss:.4f}" if progress.loss is not None else ""
        eta = f"ETA {_duration(progress.eta_seconds)}" if progress.eta_seconds is not None else ""
        self.progress.update(
            self.task,
            description=update.status,
            completed=done,
            total=total,
            epoch=epoch,
            loss=loss,
            eta=eta,
        )


def _is_step_loss(data: dict[str, object]) -> bool:
    return "train_loss" in data and "validation" not in data and "step" in data


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
