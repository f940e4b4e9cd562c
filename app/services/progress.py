"""Reports a job's run (training, or scoring) into its job row and event log, under the
job's lease."""

import math
import time
from typing import Any

from sqlalchemy.orm import Session

from app.ml.progress import EpochReport, TrainingProgress
from app.models import JobEvent
from app.services import events, leases

PROGRESS_WRITE_SECONDS = 1.0
LOSS_EVENT_STEPS = 50


class LeaseLost(Exception):
    """Another attempt owns the job now, or it was cancelled: stop without writing anything."""


class JobReporter:
    """Progress at most once a second; every finished epoch as an event with its scores."""

    def __init__(self, session: Session, job_id: str, lease_token: str) -> None:
        self.session, self.job_id, self.lease_token = session, job_id, lease_token
        self.started = time.monotonic()
        self.first_step: int | None = None
        self.last_write = 0.0
        self.latest: dict[str, Any] = {}

    def on_progress(self, progress: TrainingProgress) -> None:
        now = time.monotonic()
        self.first_step = self.first_step or progress.step
        steps_here = progress.step - self.first_step + 1
        seconds_per_step = (now - self.started) / steps_here
        self.latest = {
            "step": progress.step,
            "total_steps": progress.total_steps,
            "epoch": progress.epoch,
            "epochs": progress.epochs,
            "fraction": round(progress.fraction, 4),
            "loss": round(progress.loss, 5),
            "eta_seconds": round(seconds_per_step * (progress.total_steps - progress.step)),
        }
        if progress.step % LOSS_EVENT_STEPS == 0:
            self.last_write = now
            self._write(_loss_event(self.job_id, progress))
        elif now - self.last_write >= PROGRESS_WRITE_SECONDS:
            self.last_write = now
            self._write()

    def on_epoch(self, report: EpochReport) -> None:
        self._write(_epoch_event(self.job_id, report))

    def _write(self, event: JobEvent | None = None) -> None:
        if not leases.record_progress(
            self.session,
            job_id=self.job_id,
            lease_token=self.lease_token,
            progress=self.latest,
            event=event,
        ):
            raise LeaseLost(self.job_id)


def _loss_event(job_id: str, progress: TrainingProgress) -> JobEvent:
    loss = round(progress.epoch_loss, 5)
    return events.note(
        job_id,
        "metrics",
        f"step {progress.step}/{progress.total_steps}: training loss {loss} (epoch mean so far)",
        step=progress.step,
        epoch=progress.epoch,
        train_loss=loss,
    )


def _epoch_event(job_id: str, report: EpochReport) -> JobEvent:
    if report.resumed_at_step is not None:
        return events.note(
            job_id,
            "info",
            f"resumed from the checkpoint at step {report.resumed_at_step} "
            f"({report.epoch}/{report.epochs} epochs done)",
            epoch=report.epoch,
            step=report.resumed_at_step,
        )
    scores = {name: round(value, 5) for name, value in report.validation.items()}
    train_loss = None if math.isnan(report.train_loss) else round(report.train_loss, 5)
    return events.note(
        job_id,
        "metrics",
        f"epoch {report.epoch}/{report.epochs} finished: training loss {train_loss}, "
        f"validation accuracy {scores.get('accuracy')}, macro-F1 {scores.get('macro_f1')}",
        epoch=report.epoch,
        train_loss=train_loss,
        validation=scores,
        best=report.is_best,
    )


class JobRefused(Exception):
    """The job cannot be done as asked (its model or data is gone, or its measurement fell
    short); it fails with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CountedProgress:
    """Progress of work counted in items (texts scored), written at most once a second."""

    def __init__(self, session: Session, job_id: str, lease_token: str, total: int) -> None:
        self.session, self.job_id, self.lease_token = session, job_id, lease_token
        self.total = max(total, 1)
        self.done = 0
        self.started = time.monotonic()
        self.last_write = 0.0

    @property
    def latest(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        return {
            "step": self.done,
            "total_steps": self.total,
            "fraction": round(self.done / self.total, 4),
            "eta_seconds": None if left is None else round(left),
        }

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_SECONDS and self.done < self.total:
            return
        self.last_write = now
        if not leases.record_progress(
            self.session, job_id=self.job_id, lease_token=self.lease_token, progress=self.latest
        ):
            raise LeaseLost(self.job_id)
