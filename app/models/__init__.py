from app.models.alias import Alias, AliasMove
from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.dataset import Dataset, DatasetExample
from app.models.evaluation import Evaluation
from app.models.idempotency import IdempotencyRecord
from app.models.job import TERMINAL_STATUSES, Job, JobKind, JobStatus
from app.models.job_event import JobEvent
from app.models.model import Model
from app.models.retention import SweepTally
from app.models.team import ApiKey, Team
from app.models.trigger import Trigger, TriggerFire, TriggerRun
from app.models.webhook import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "TERMINAL_STATUSES",
    "Alias",
    "AliasMove",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Dataset",
    "DatasetExample",
    "Evaluation",
    "IdempotencyRecord",
    "Job",
    "JobEvent",
    "JobKind",
    "JobStatus",
    "Model",
    "SweepTally",
    "Team",
    "Trigger",
    "TriggerFire",
    "TriggerRun",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
