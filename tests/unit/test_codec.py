"""The payload codec (runtime/codec.py): sealing, rotation, unknown keys, clear payloads passing through,
the key setting's errors, production's refusals, and `multibill up`'s development key."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from runtime.codec import (
    ENCODING,
    INSECURE_DEV_PAYLOAD_KEYS,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    PayloadKeys,
    data_converter,
    dev_payload_keys,
    dev_stack_env,
    dev_stack_settings,
)
from runtime.servers import dev_server_argv
from runtime.settings import Settings
from runtime.worker import WORKFLOWS
from tests.workflows.history_store import load, stored_files

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()
EMAIL = b"ana.ruiz@example.com"


def clear(data: bytes = b'{"email": "ana.ruiz@example.com"}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def codec(keys: str) -> EncryptionCodec:
    return EncryptionCodec(PayloadKeys.parse(keys))


async def test_a_sealed_payload_hides_data_and_encoding_and_opens_to_the_same_payload() -> None:
    sealing = codec(f"k1:{K1}")
    [sealed] = await sealing.encode([clear()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert set(sealed.metadata) == {"encoding", KEY_ID}
    assert EMAIL not in sealed.SerializeToString() and b"json/plain" not in sealed.SerializeToString()
    [opened] = await sealing.decode([sealed])
    assert opened == clear()


async def test_two_seals_of_the_same_payload_differ() -> None:
    sealing = codec(f"k1:{K1}")
    first, second = await sealing.encode([clear(), clear()])
    assert first.data != second.data


async def test_a_clear_payload_passes_through_decode() -> None:
    [opened] = await codec(f"k1:{K1}").decode([clear()])
    assert opened == clear()


async def test_rotation_the_first_key_seals_and_the_old_one_still_opens() -> None:
    [old] = await codec(f"k1:{K1}").encode([clear()])
    rotated = codec(f"k2:{K2},k1:{K1}")
    [opened] = await rotated.decode([old])
    assert opened == clear()
    [new] = await rotated.encode([clear()])
    assert new.metadata[KEY_ID] == b"k2"
    [again] = await codec(f"k2:{K2}").decode([new])
    assert again == clear()


async def test_a_payload_of_an_unknown_key_names_the_key() -> None:
    [old] = await codec(f"k1:{K1}").encode([clear()])
    with pytest.raises(PayloadKeyError, match=r"sealed with the key 'k1'.*lists: k2"):
        await codec(f"k2:{K2}").decode([old])


async def test_another_key_under_the_same_id_does_not_open() -> None:
    [sealed] = await codec(f"k1:{K1}").encode([clear()])
    with pytest.raises(PayloadKeyError, match="does not open"):
        await codec(f"k1:{K2}").decode([sealed])


async def test_a_payload_relabelled_with_another_key_id_does_not_open() -> None:
    both = codec(f"k2:{K2},k1:{K1}")
    [sealed] = await codec(f"k1:{K2}").encode([clear()])  # sealed with K2 but labelled k1
    sealed.metadata[KEY_ID] = b"k2"
    with pytest.raises(PayloadKeyError, match="does not open"):
        await both.decode([sealed])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "lists no key"),
        ("k1", "is not `<key id>:<base64 key>`"),
        (":" + K1, "is not `<key id>:<base64 key>`"),
        ("k1:not base64!", "'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "'k1' is 5 bytes, AES-256 needs 32"),
        (f"k1:{K1},k1:{K2}", "'k1' is listed twice"),
    ],
)
def test_a_bad_key_setting_is_named_with_its_fix(value: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match="MULTIBILL_PAYLOAD_KEYS") as raised:
        PayloadKeys.parse(value)
    assert message in str(raised.value)
    assert K1 not in str(raised.value) and K2 not in str(raised.value)


def test_spaces_and_empty_entries_are_tolerated() -> None:
    keys = PayloadKeys.parse(f" k2 : {K2} , ,k1:{K1},")
    assert keys.ids == ["k2", "k1"] and keys.current == ("k2", b"2" * 32)


def production(**overrides: object) -> Settings:
    return Settings.model_validate(
        {"environment": "production", "secret_key": "s" * 40, "data_key": "d" * 40, **overrides}
    )


def test_production_refuses_to_start_without_payload_keys() -> None:
    with pytest.raises(RuntimeError, match="MULTIBILL_PAYLOAD_KEYS is not set"):
        production(payload_keys=None).require_safe_secret()
    with pytest.raises(RuntimeError, match="MULTIBILL_PAYLOAD_KEYS is not set"):
        data_converter(production(payload_keys=None))


def test_production_refuses_the_development_key_even_after_a_real_one() -> None:
    with pytest.raises(RuntimeError, match="lists the development key"):
        production(payload_keys=f"k1:{K1},{INSECURE_DEV_PAYLOAD_KEYS}").require_safe_secret()


def test_production_starts_with_a_real_key() -> None:
    production(payload_keys=f"k1:{K1}").require_safe_secret()
    assert isinstance(data_converter(production(payload_keys=f"k1:{K1}")).payload_codec, EncryptionCodec)


class Person(BaseModel):
    name: str
    email: str


async def test_the_data_converter_seals_pydantic_values_and_reads_them_back() -> None:
    converter = data_converter(Settings(environment="test", payload_keys=f"k1:{K1}"))
    [payload] = await converter.encode([Person(name="Ana Ruiz", email=EMAIL.decode())])
    assert payload.metadata["encoding"] == ENCODING and EMAIL not in payload.data
    [back] = await converter.decode([payload], [Person])
    assert back == Person(name="Ana Ruiz", email=EMAIL.decode())


class CountingCodec(EncryptionCodec):
    def __init__(self, keys: PayloadKeys) -> None:
        super().__init__(keys)
        self.decoded = 0

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.decoded += len(payloads)
        return await super().decode(payloads)


async def test_stored_clear_histories_replay_through_the_codec() -> None:
    """The replay test (tests/workflows/test_replay.py) uses the codec's converter; this one proves the
    codec is really on that path (it sees the stored payloads) and lets them through."""
    spy = CountingCodec(PayloadKeys.parse(INSECURE_DEV_PAYLOAD_KEYS))
    converter = DataConverter(
        payload_converter_class=data_converter(Settings(environment="test")).payload_converter_class,
        payload_codec=spy,
    )
    histories = [load(path) for path in stored_files()]

    async def iterate() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await Replayer(workflows=WORKFLOWS, data_converter=converter).replay_workflows(
        iterate(), raise_on_replay_failure=False
    )
    assert results.replay_failures == {}
    assert spy.decoded > 0


def test_multibill_up_keeps_one_owner_only_key_per_home(tmp_path: Path) -> None:
    first = dev_payload_keys(tmp_path)
    assert dev_payload_keys(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "payload-keys").stat().st_mode) == 0o600
    keys = PayloadKeys.parse(first)
    assert len(keys.keys) == 1 and keys.current[1] != PayloadKeys.parse(INSECURE_DEV_PAYLOAD_KEYS).current[1]
    assert dev_stack_settings(Settings(payload_keys=None), tmp_path).payload_keys == first
    assert dev_stack_settings(Settings(payload_keys=f"k1:{K1}"), tmp_path).payload_keys == f"k1:{K1}"


def test_multibill_up_gives_its_children_the_keys_and_a_codec_for_the_ui(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("MULTIBILL_CODEC_") or name == "MULTIBILL_PAYLOAD_KEYS":
            monkeypatch.delenv(name)
    settings = Settings(payload_keys=f"k1:{K1}", api_port=8123, temporal_ui_port=8233)
    env = dev_stack_env(settings, "org_demo")
    assert env["MULTIBILL_PAYLOAD_KEYS"] == f"k1:{K1}"
    assert json.loads(env["MULTIBILL_CODEC_ORGANISATIONS"]) == ["org_demo"]
    assert json.loads(env["MULTIBILL_CODEC_CORS_ORIGINS"]) == [
        "http://127.0.0.1:8233",
        "http://localhost:8233",
    ]
    assert env["MULTIBILL_CODEC_TRUST_LOOPBACK"] == "true"
    argv = dev_server_argv(settings, Path("/tmp/home"))
    assert argv[argv.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8123/codec"
    monkeypatch.setenv("MULTIBILL_CODEC_ORGANISATIONS", '["org_staff"]')
    assert "MULTIBILL_CODEC_ORGANISATIONS" not in dev_stack_env(settings, "org_demo")
