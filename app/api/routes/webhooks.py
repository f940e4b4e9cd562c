from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.api.deps import (
    AdminKey,
    AfterQuery,
    KeyringDep,
    LimitQuery,
    ReadKey,
    SessionDep,
    SettingsDep,
)
from app.api.idempotency import IdempotencyKey, run_once
from app.core import outbound
from app.core.config import Settings
from app.core.problems import NotFound, ValidationFailed
from app.core.sealing import Keyring
from app.models import WebhookDelivery, WebhookEndpoint
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.webhook import (
    DeliveriesPublic,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.services import quotas, webhooks
from app.services.idempotency import fingerprint
from app.services.quotas import Quota

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)


def get_endpoint(webhook_id: str, session: SessionDep, key: ReadKey) -> WebhookEndpoint:
    endpoint = webhooks.get(session, team_id=key.team_id, endpoint_id=webhook_id)
    if endpoint is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return endpoint


EndpointDep = Annotated[WebhookEndpoint, Depends(get_endpoint)]


def to_public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def with_secret(endpoint: WebhookEndpoint, keyring: Keyring) -> WebhookWithSecret:
    secret = keyring.open(endpoint.sealed_secret)
    return WebhookWithSecret(**to_public(endpoint).model_dump(), secret=secret)


def delivery_public(delivery: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=delivery.id,
        event_type=delivery.event.type,
        sequence=delivery.event.id,
        payload=delivery.event.data,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        last_response=delivery.last_response,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


@router.post("", status_code=201, response_model=WebhookWithSecret)
def create_webhook(
    body: WebhookCreate,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    key: AdminKey,
    idempotency_key: IdempotencyKey = None,
) -> WebhookWithSecret | JSONResponse:
    """Subscribe a URL to events. The answer carries the signing secret, shown only now (and
    to a repeat with the same `Idempotency-Key`, which subscribes nothing more)."""
    _check_url(body.url, settings)

    def create() -> WebhookWithSecret:
        quotas.check_room(session, settings=settings, team_id=key.team_id, quota=Quota.webhooks)
        endpoint = webhooks.create(
            session, keyring=keyring, team_id=key.team_id, url=body.url, events=body.events
        )
        session.commit()
        return with_secret(endpoint, keyring)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/webhooks",
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        status_code=201,
        work=create,
        settings=settings,
        sealed_with=keyring,
    )


@router.get("", response_model=WebhooksPublic)
def list_webhooks(
    session: SessionDep, key: ReadKey, limit: LimitQuery = 20, after: AfterQuery = None
) -> WebhooksPublic:
    page = webhooks.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return WebhooksPublic(data=[to_public(e) for e in page.items], has_more=page.has_more)


@router.get("/{webhook_id}", response_model=WebhookPublic)
def get_webhook(endpoint: EndpointDep) -> WebhookPublic:
    return to_public(endpoint)


@router.patch("/{webhook_id}", response_model=WebhookPublic)
def update_webhook(
    endpoint: EndpointDep,
    body: WebhookUpdate,
    session: SessionDep,
    settings: SettingsDep,
    _key: AdminKey,
) -> WebhookPublic:
    if body.url is not None:
        _check_url(body.url, settings)
    updated = webhooks.update(
        session, endpoint=endpoint, url=body.url, events=body.events, enabled=body.enabled
    )
    session.commit()
    return to_public(updated)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(endpoint: EndpointDep, session: SessionDep, _key: AdminKey) -> Response:
    webhooks.delete(session, endpoint=endpoint)
    session.commit()
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
def rotate_webhook_secret(
    endpoint: EndpointDep, session: SessionDep, keyring: KeyringDep, _key: AdminKey
) -> WebhookWithSecret:
    """A new signing secret, shown only now; the old one stops signing at once."""
    rotated = webhooks.rotate_secret(session, keyring=keyring, endpoint=endpoint)
    session.commit()
    return with_secret(rotated, keyring)


@router.get("/{webhook_id}/deliveries", response_model=DeliveriesPublic)
def list_deliveries(
    endpoint: EndpointDep, session: SessionDep, limit: LimitQuery = 20, after: AfterQuery = None
) -> DeliveriesPublic:
    """The delivery log, newest first."""
    page = webhooks.get_deliveries(session, endpoint_id=endpoint.id, limit=limit, after=after)
    return DeliveriesPublic(data=[delivery_public(d) for d in page.items], has_more=page.has_more)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
)
def redeliver(
    endpoint: EndpointDep, delivery_id: str, session: SessionDep, _key: AdminKey
) -> DeliveryPublic:
    """Queue the delivery's event for this endpoint again, as a new delivery."""
    delivery = webhooks.get_delivery(session, endpoint_id=endpoint.id, delivery_id=delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} of webhook {endpoint.id} not found")
    again = webhooks.redeliver(session, delivery=delivery)
    session.commit()
    return delivery_public(again)


def _check_url(url: str, settings: Settings) -> None:
    try:
        outbound.check_target(url, settings.webhook_allowed_networks)
    except outbound.RefusedTarget as error:
        message = str(error)
        raise ValidationFailed(message, errors=[{"location": "url", "message": message}]) from None
