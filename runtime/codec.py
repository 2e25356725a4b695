"""No personal data in clear in Temporal: every payload Multibill sends to Temporal (workflow and activity
inputs and results, signals, queries, memos, failures' messages and details, schedules' arguments,
summaries) is sealed with AES-256-GCM before it leaves the process.

Keys come from ``MULTIBILL_PAYLOAD_KEYS``: ``"<id>:<base64 of 32 bytes>,<id>:<base64>,…"``. The first key
seals; every key listed opens. To rotate, put the new key first and keep the old ones after it until no
open workflow (nor a history you still want to read) uses them. A sealed payload carries its key id in
its metadata (``encryption-key-id``) next to ``encoding: binary/encrypted``; the key id is also the
associated data of the seal, so a payload relabelled with another key id does not open.

A payload that is not sealed passes through ``decode`` unchanged: the histories recorded before the codec
(``tests/workflows/histories/``) and workflows that were already running keep replaying.

Development and tests without the setting use a fixed, public key (``INSECURE_DEV_PAYLOAD_KEYS``);
``multibill up`` generates a key of its own under its home directory instead. Production refuses both
the missing setting and the development key (``require_production_payload_keys``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionDescription
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
SETTING = "MULTIBILL_PAYLOAD_KEYS"
GENERATE_HINT = "python -c \"import base64,os; print('k1:' + base64.b64encode(os.urandom(32)).decode())\""
DEV_KEY_ID = "dev"
_DEV_KEY = hashlib.sha256(b"multibill insecure development payload key").digest()
INSECURE_DEV_PAYLOAD_KEYS = f"{DEV_KEY_ID}:{base64.b64encode(_DEV_KEY).decode()}"  # refused in production
DEV_KEY_FILE = "payload-keys"


class PayloadKeyError(ValueError):
    """A key setting that cannot be used, or a sealed payload that does not open."""


@dataclasses.dataclass(frozen=True)
class PayloadKeys:
    """The keys, current first: ``current`` seals, every key opens."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def get(self, key_id: str) -> bytes | None:
        return dict(self.keys).get(key_id)

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    @classmethod
    def parse(cls, value: str) -> PayloadKeys:
        """Read ``"<id>:<base64>,…"``; errors name the setting and the fix, never the key material."""
        keys: list[tuple[str, bytes]] = []
        for position, item in enumerate(part.strip() for part in value.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            key_id = key_id.strip()
            if not sep or not key_id:
                raise PayloadKeyError(
                    f"{SETTING}: entry {position + 1} is not `<key id>:<base64 key>`; generate a key with "
                    f"{GENERATE_HINT}"
                )
            try:
                material = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise PayloadKeyError(
                    f"{SETTING}: the key {key_id!r} is not valid base64; generate one with {GENERATE_HINT}"
                ) from None
            if len(material) != KEY_BYTES:
                raise PayloadKeyError(
                    f"{SETTING}: the key {key_id!r} is {len(material)} bytes, AES-256 needs {KEY_BYTES}; "
                    f"generate one with {GENERATE_HINT}"
                )
            if any(existing == key_id for existing, _ in keys):
                raise PayloadKeyError(f"{SETTING}: the key id {key_id!r} is listed twice; ids must be unique")
            keys.append((key_id, material))
        if not keys:
            raise PayloadKeyError(f"{SETTING} lists no key; generate one with {GENERATE_HINT}")
        return cls(tuple(keys))


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM per payload: a fresh 96-bit nonce, the whole serialised payload (metadata included,
    so its JSON encoding is hidden too) as plaintext, the key id as associated data."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys
        self._ciphers = {key_id: AESGCM(material) for key_id, material in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id, _ = self._keys.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # recorded before the codec, or by a client without it: readable as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._keys.ids)
            raise PayloadKeyError(
                f"a Temporal payload is sealed with the key {key_id!r}, which {SETTING} does not list "
                f"(it lists: {known}); add that key back after the current one"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            clear = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"a Temporal payload sealed with the key {key_id!r} does not open: the key {key_id!r} in "
                f"{SETTING} is not the one that sealed it, or the payload was altered"
            ) from None
        opened = Payload()
        opened.ParseFromString(clear)
        return opened


def require_production_payload_keys(settings: Settings) -> None:
    """Production seals with a key of its own: neither a missing setting nor the development key."""
    if settings.environment != "production":
        return
    if not settings.payload_keys:
        raise RuntimeError(
            f"{SETTING} is not set: production encrypts every Temporal payload; set it to "
            f"`<key id>:<base64 of 32 random bytes>` (generate one with {GENERATE_HINT})"
        )
    if any(material == _DEV_KEY for _, material in PayloadKeys.parse(settings.payload_keys).keys):
        raise RuntimeError(
            f"{SETTING} lists the development key; generate a real one with {GENERATE_HINT} "
            "(put it first and keep the development key after it only while old payloads need it)"
        )


def payload_keys(settings: Settings) -> PayloadKeys:
    require_production_payload_keys(settings)
    return PayloadKeys.parse(settings.payload_keys or INSECURE_DEV_PAYLOAD_KEYS)


def payload_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(payload_keys(settings))


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter, with every payload sealed by the settings' keys. Failures' messages
    and stack traces move into their encoded attributes, sealed too (an error may quote an address);
    their type stays readable, so retry policies still match it."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=payload_codec(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def dev_payload_keys(home: Path) -> str:
    """The development key of one ``multibill up`` home: generated once, kept in ``<home>/payload-keys``
    (owner-only), so a restarted stack still reads its running workflows."""
    path = home / DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    value = f"local-{os.urandom(3).hex()}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def dev_stack_settings(settings: Settings, home: Path) -> Settings:
    """`multibill up`: the home's own payload key unless MULTIBILL_PAYLOAD_KEYS is set."""
    if settings.payload_keys:
        return settings
    return settings.model_copy(update={"payload_keys": dev_payload_keys(home)})


def dev_stack_env(settings: Settings, operator_id: str) -> dict[str, str]:
    """What `multibill up` gives its worker and API: the same keys, and a codec endpoint the dev server's
    UI (no login) may call from its origin (whichever of the two loopback names the browser was given);
    settings the developer exported are kept."""
    port = settings.temporal_ui_port
    ui_origins = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    env = {
        "MULTIBILL_PAYLOAD_KEYS": settings.payload_keys or INSECURE_DEV_PAYLOAD_KEYS,
        "MULTIBILL_CODEC_TRUST_LOOPBACK": "true",
        "MULTIBILL_CODEC_CORS_ORIGINS": json.dumps(sorted({*settings.codec_cors_origins, *ui_origins})),
        "MULTIBILL_CODEC_ORGANISATIONS": json.dumps(sorted({*settings.codec_organisations, operator_id})),
    }
    return {name: value for name, value in env.items() if name not in os.environ}


_FAILURE_FIELDS = (
    "activity_task_failed_event_attributes",
    "activity_task_timed_out_event_attributes",
    "child_workflow_execution_failed_event_attributes",
    "workflow_execution_failed_event_attributes",
)


async def open_failures(
    converter: DataConverter, events: Iterable[HistoryEvent], description: WorkflowExecutionDescription
) -> None:
    """Decode, in place, the failures of the history and of the pending activities, so their messages
    read as written: the payload codec seals a failure's message and stack trace (``runtime/codec.py``)."""
    failures: list[Failure] = []
    for event in events:
        kind = event.WhichOneof("attributes")
        if kind in _FAILURE_FIELDS and getattr(event, kind).HasField("failure"):
            failures.append(getattr(event, kind).failure)
    failures += [
        info.last_failure
        for info in description.raw_description.pending_activities
        if info.HasField("last_failure")
    ]
    for failure in failures:
        if converter.payload_codec is not None:
            await converter.payload_codec.decode_failure(failure)
        current: Failure | None = failure
        while current is not None:
            if current.HasField("encoded_attributes"):
                try:
                    opened = converter.payload_converter.from_payloads([current.encoded_attributes])[0]
                except Exception:
                    opened = None
                if isinstance(opened, dict) and isinstance(opened.get("message"), str):
                    current.message = opened["message"]
            current = current.cause if current.HasField("cause") else None
