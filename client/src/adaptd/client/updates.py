"""What `jobs.wait` reports as a job moves: each logged event and each progress snapshot of the
job's event stream, folded into the job's latest status and progress."""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from httpx_sse import ServerSentEvent

from adaptd.client.types import Job, JobEvent, JobProgress, JobStatus

PROGRESS_EVENT = "progress"


@dataclass(frozen=True)
class JobUpdate:
    """The job as last seen: `status` and `progress` are the latest known; `event` is the logged
    event that brought this update (None for a progress snapshot)."""

    job_id: str
    status: JobStatus
    progress: JobProgress
    event: JobEvent | None = None

    @classmethod
    def of(cls, job: Job) -> "JobUpdate":
        return cls(job_id=job.id, status=job.status, progress=job.progress)

    def after(self, message: ServerSentEvent) -> "JobUpdate":
        """This update moved on by one message of the stream."""
        data = json.loads(message.data)
        if message.event == PROGRESS_EVENT:
            return replace(
                self,
                status=data.get("status", self.status),
                progress=JobProgress.model_validate(data.get("progress") or {}),
                event=None,
            )
        event = JobEvent.model_validate(data)
        status = event.data.get("status", self.status) if event.type == "state" else self.status
        return replace(self, status=status, event=event)


ProgressCallback = Callable[[JobUpdate], None]
