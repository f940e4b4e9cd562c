"""The adaptd Python SDK.

from adaptd.client import Client

with Client() as adaptd:  # ADAPTD_URL and ADAPTD_API_KEY, or arguments
    dataset = adaptd.datasets.upload("support.csv")
    job = adaptd.jobs.create(dataset, strategy="auto")
    job = adaptd.jobs.wait(job, on_progress=print)
    print(adaptd.models.predict(job.model_id, ["I was charged twice"]).predictions[0].label)
"""

from adaptd.client.aio import AsyncClient
from adaptd.client.api import JobOptions
from adaptd.client.archives import CorruptDownload
from adaptd.client.calls import Page
from adaptd.client.errors import (
    AdaptdError,
    APIError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    FieldError,
    Forbidden,
    JobFailed,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
    ValidationError,
)
from adaptd.client.paging import AsyncPager, Pager
from adaptd.client.retries import NO_RETRIES, Retries
from adaptd.client.sync import Client
from adaptd.client.types import (
    Acceleration,
    Alias,
    AliasMove,
    ApiKey,
    AuditEntry,
    Dataset,
    Delivery,
    Evaluation,
    Gate,
    Job,
    JobError,
    JobEvent,
    JobProgress,
    LabelScore,
    Model,
    Prediction,
    Predictions,
    QuotaLimits,
    Quotas,
    Strategy,
    Trigger,
    TriggerFired,
    TriggerRun,
    Webhook,
)
from adaptd.client.updates import JobUpdate
from adaptd.client.waiting import WaitTimeout

__all__ = [
    "NO_RETRIES",
    "APIError",
    "Acceleration",
    "AdaptdError",
    "Alias",
    "AliasMove",
    "ApiKey",
    "AsyncClient",
    "AsyncPager",
    "AuditEntry",
    "BadRequest",
    "Client",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "CorruptDownload",
    "Dataset",
    "Delivery",
    "Evaluation",
    "FieldError",
    "Forbidden",
    "Gate",
    "Job",
    "JobError",
    "JobEvent",
    "JobFailed",
    "JobOptions",
    "JobProgress",
    "JobUpdate",
    "LabelScore",
    "Model",
    "NotFound",
    "Overloaded",
    "Page",
    "Pager",
    "PayloadTooLarge",
    "Prediction",
    "Predictions",
    "QuotaLimits",
    "Quotas",
    "Retries",
    "ServerError",
    "Strategy",
    "Trigger",
    "TriggerFired",
    "TriggerRun",
    "Unauthorized",
    "ValidationError",
    "WaitTimeout",
    "Webhook",
]
