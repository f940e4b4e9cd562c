import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Job, JobStatus
from app.services import leases
from tests.factories import TeamCredentials, create_dataset, create_job


@pytest.mark.parametrize(
    ("exit_code", "told"),
    [
        (1, "ended with exit code 1 (an error outside the job's own code, such as an import"),
        (-9, "was killed by SIGKILL (exit code -9; the kernel's out-of-memory killer sends it"),
        (-11, "was killed by SIGSEGV (exit code -11; a crash in native code)"),
        (-15, "was killed by SIGTERM (exit code -15)"),
    ],
)
def test_a_job_whose_training_process_died_says_how(
    client: TestClient, team: TeamCredentials, session: Session, exit_code: int, told: str
) -> None:
    job_id = create_job(client, team, create_dataset(client, team), max_attempts=1).json()["id"]
    token = leases.claim(session, job_id=job_id, worker="w")
    assert token is not None

    ended = leases.end_abandoned(session, job_id=job_id, lease_token=token, exit_code=exit_code)

    row = session.get(Job, job_id)
    assert row is not None
    session.refresh(row)
    assert ended is JobStatus.failed
    assert row.error_code == "training_process_crashed"
    assert (row.error_message or "").startswith(f"the training process {told}")
    assert (row.error_message or "").endswith(
        "before finishing the job, on its last allowed attempt"
    )
