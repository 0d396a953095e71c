"""Before any traffic: the experiment (admin API) and the webhook secret, checked for real."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from service.domain.experiment import Experiment
from service.jobs.simulate.http_client import HttpClient, SimulationError
from service.jobs.simulate.spec import experiment_info

SIGNATURE_HEADER = "X-SmallFavor-Signature"


def fetch_experiment(client: HttpClient, key: str, token: str) -> Experiment:
    response = client.request(
        "GET",
        f"/v1/admin/experiments/{quote(key, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
    )
    if response.status == 404:
        raise SimulationError(f"no experiment {key!r} at {client.base_url}")
    if response.status in (401, 403):
        raise SimulationError(f"the admin API refused the token: {response.error_message()}")
    if response.status != 200:
        raise SimulationError(f"reading experiment {key!r} failed: {response.error_message()}")
    return experiment_info(response.body)


def check_webhook_secret(client: HttpClient, secret: str) -> None:
    """Fails now, before any traffic, if the webhook would refuse our signatures: the service
    checks the signature before the body, so a signed empty object answers 422 (and records
    nothing) when the secret is right, 401 when it is not."""
    body = b"{}"
    response = client.request(
        "POST",
        "/v1/conversions",
        body=body,
        headers={SIGNATURE_HEADER: payment_signature(secret, int(time.time()), body)},
    )
    if response.status == 401:
        raise SimulationError(
            f"the payment webhook refuses our signature ({response.error_message()}); "
            "pass --webhook-secret, or run with the service's WEBHOOK_SECRET or VAR_DIR"
        )


def payment_signature(secret: str, timestamp: int, body: bytes) -> str:
    """What the payment side computes (DESIGN §3), written from the contract rather than
    imported from the service, so that the simulator checks the contract the service keeps."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
