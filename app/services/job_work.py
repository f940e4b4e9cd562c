"""The entry point of a job's process: a training job trains, a scoring job scores, both
under the job's lease; a failure ends the job with a code that says what went wrong, and an
artifact store that stays unreachable hands the job back to the queue."""

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import ArtifactStoreUnavailable, open_store
from app.ml.progress import PauseCheck, TrainingPaused
from app.models import Job, JobKind
from app.services import leases, scoring, training
from app.services.progress import JobRefused, LeaseLost


def run_job(settings: Settings, job_id: str, lease_token: str, should_pause: PauseCheck) -> None:
    with new_session(settings) as session:
        try:
            job = session.get(Job, job_id)
            if job is None or job.lease_token != lease_token:
                raise LeaseLost(job_id)
            if job.kind is JobKind.train:
                training.train(session, settings, job, lease_token, should_pause)
            else:
                scoring.run(session, settings, job, lease_token)
        except LeaseLost:
            return
        except TrainingPaused as paused:
            leases.release(session, job_id=job_id, lease_token=lease_token, step=paused.step)
        except ArtifactStoreUnavailable as error:
            session.rollback()
            leases.requeue_unreached(
                session, job_id=job_id, lease_token=lease_token, reason=str(error)
            )
        except Exception as error:
            session.rollback()
            code, message = _described(error)
            if leases.fail(
                session, job_id=job_id, lease_token=lease_token, code=code, message=message
            ):
                open_store(settings).checkpoints(job_id).delete()


def _described(error: Exception) -> tuple[str, str]:
    if isinstance(error, JobRefused):
        return error.code, str(error)
    return training.describe_failure(error)
