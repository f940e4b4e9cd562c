"""A retraining trigger's fire, signed per Standard Webhooks with the trigger's secret."""

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from adaptd.client.calls import Call, reader
from adaptd.client.types import TriggerFired


def fire_call(
    url: str,
    secret: str,
    examples: Sequence[Mapping[str, Any]] | None = None,
    *,
    message_id: str | None = None,
) -> Call[TriggerFired]:
    """The signed POST to a trigger's `url`. Its `webhook-id` is made once, here, so a retried
    fire is recognised by the service and starts nothing more."""
    body = json.dumps({"examples": list(examples)} if examples else {})
    message_id = message_id or f"fire_{uuid.uuid4()}"
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    return Call(
        "POST",
        url,
        reader(TriggerFired),
        content=body.encode(),
        headers=headers,
        authenticated=False,
    )
