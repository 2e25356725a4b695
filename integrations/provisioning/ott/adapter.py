"""The CAS/OTT provisioning adapter (service kind ``video``) over the entitlement API (see simulator).

One OTT subscriber per Multibill service (id = service id, ``account_ref`` = account id).

* activate / change — subscriber active, then its entitlements made equal to the characteristics
  ``channel_packs`` and ``titles`` (lists of codes) with the order's ``expires_at`` and the device
  (``device["id"]``) when given: missing ones entitled (Idempotency-Key = order key + kind + code),
  others revoked.
* suspend / resume — subscriber status; terminate — subscriber deleted (404: already gone).

Errors: 4xx → failed, not retryable (bad data) except 408/429; 5xx, timeouts, refused
connections → failed, retryable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult, ServiceState

RETRYABLE_4XX = (408, 425, 429)


class PeerError(Exception):
    def __init__(self, detail: str, retryable: bool) -> None:
        super().__init__(detail)
        self.detail, self.retryable = detail, retryable


@dataclass(frozen=True)
class OttConfig:
    base_url: str
    api_key: str = ""
    timeout_seconds: float = 5.0


class OttAdapter:
    name = "ott"
    kinds = frozenset({"video"})

    def __init__(self, config: OttConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=httpx.Timeout(config.timeout_seconds),
            headers=headers,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise PeerError(f"{method} {path} timed out after {self.config.timeout_seconds}s", True) from exc
        except httpx.TransportError as exc:
            raise PeerError(f"{method} {path} failed: {exc.__class__.__name__}: {exc}", True) from exc
        if response.is_success or response.status_code in allow:
            return response
        try:
            error = response.json()["error"]
            what = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            what = response.text[:200]
        retryable = response.status_code >= 500 or response.status_code in RETRYABLE_4XX
        raise PeerError(f"{method} {path} answered {response.status_code} {what}", retryable)

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        try:
            detail = self._apply(request)
        except PeerError as exc:
            return ProvisioningResult(
                status="failed", reference=request.service_id, detail=exc.detail, retryable=exc.retryable
            )
        return ProvisioningResult(status="done", reference=request.service_id, detail=detail)

    def _apply(self, request: ProvisioningRequest) -> str:
        path = f"/v1/subscribers/{request.service_id}"
        action = request.action
        if action is ProvisioningAction.TERMINATE:
            gone = self._call("DELETE", path, allow=(404,)).status_code == 404
            return "already gone" if gone else "subscriber deleted"
        status = "suspended" if action is ProvisioningAction.SUSPEND else "active"
        self._call("PUT", path, json={"account_ref": request.account_id, "status": status})
        if action in (ProvisioningAction.SUSPEND, ProvisioningAction.RESUME):
            return f"subscriber {status}"
        return self._sync_entitlements(request, path)

    def _sync_entitlements(self, request: ProvisioningRequest, path: str) -> str:
        device = (request.device or {}).get("id")
        wanted = [("pack", str(c)) for c in request.characteristics.get("channel_packs", [])]
        wanted += [("title", str(c)) for c in request.characteristics.get("titles", [])]
        current = self._call("GET", path).json()["entitlements"]
        for ent in current:
            if (ent["kind"], ent["code"]) not in wanted or ent["device_id"] != device:
                self._call("DELETE", f"{path}/entitlements/{ent['id']}", allow=(404,))
        for kind, code in wanted:
            body = {"kind": kind, "code": code, "device_id": device, "expires_at": request.expires_at}
            key = f"{request.idempotency_key}:{kind}:{code}"
            self._call("POST", f"{path}/entitlements", json=body, headers={"Idempotency-Key": key})
        return "entitled " + (", ".join(f"{k} {c}" for k, c in wanted) or "nothing")

    def list_state(self) -> list[ServiceState]:
        subscribers = self._call("GET", "/v1/subscribers").json()["data"]
        return [
            ServiceState(
                service_id=s["id"],
                active=True,
                suspended=s["status"] == "suspended",
                profile=",".join(sorted(e["code"] for e in s["entitlements"] if e["status"] != "expired")),
            )
            for s in subscribers
        ]
