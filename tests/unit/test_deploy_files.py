"""deploy/ stays consistent with the code: commands exist in the CLI, probes hit /healthz on the API port,
every MULTIBILL_* variable is a real setting, and the Temporal values run on PostgreSQL.

No Docker engine or cluster runs here, so the files are checked by parsing them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.cli import app
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRET_NAME = "multibill"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def only(path: Path, kind: str) -> dict[str, Any]:
    found = [doc for doc in documents(path) if doc["kind"] == kind]
    assert len(found) == 1, f"{path.name}: expected one {kind}"
    return found[0]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_values(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def cli_commands() -> set[str]:
    return {
        command.name or command.callback.__name__ for command in app.registered_commands if command.callback
    }


def setting_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"MULTIBILL_{name.upper()}")
    return names


def dockerfile_instruction(name: str) -> str:
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith(name + " ")]
    assert lines, f"Dockerfile has no {name}"
    return lines[-1][len(name) + 1 :].strip()


API = DEPLOY / "k8s" / "api.yaml"
WORKER = DEPLOY / "k8s" / "worker.yaml"


@pytest.mark.parametrize("path", [API, WORKER])
def test_every_container_runs_a_cli_command(path: Path) -> None:
    for container in containers(only(path, "Deployment")):
        assert container["args"][0] in cli_commands(), container["name"]


def test_the_image_entrypoint_is_the_multibill_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["multibill"] == "runtime.cli:app"
    assert dockerfile_instruction("ENTRYPOINT") == '["multibill"]'
    (default_command,) = re.findall(r'"(\w+)"', dockerfile_instruction("CMD"))
    assert default_command in cli_commands()


def test_the_image_runs_as_a_non_root_user_on_python_311_slim() -> None:
    assert dockerfile_instruction("USER").split(":")[0] not in {"root", "0"}
    assert all(line.split()[1].startswith("python:3.11-slim") for line in _from_lines())


def _from_lines() -> list[str]:
    return [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("FROM ")]


def test_api_probes_hit_healthz_on_the_port_the_api_listens_on() -> None:
    deployment = only(API, "Deployment")
    container = main_container(deployment)
    (port,) = container["ports"]
    env = env_values(container)
    assert int(env["MULTIBILL_API_PORT"]) == port["containerPort"]
    assert env["MULTIBILL_API_HOST"] == "0.0.0.0"
    assert str(port["containerPort"]) == dockerfile_instruction("EXPOSE")
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    liveness = container["livenessProbe"]
    assert (liveness.get("httpGet") or liveness["tcpSocket"])["port"] == port["name"]


def test_the_service_and_autoscaler_point_at_the_api_deployment() -> None:
    deployment = only(API, "Deployment")
    service = only(API, "Service")
    port_name = main_container(deployment)["ports"][0]["name"]
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port_name]
    target = only(API, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


@pytest.mark.parametrize("path", [API, WORKER])
def test_configuration_comes_from_the_secret_and_real_settings(path: Path) -> None:
    deployment = only(path, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    for container in containers(deployment):
        assert {"secretRef": {"name": SECRET_NAME}} in container["envFrom"], container["name"]
        unknown = set(env_values(container)) - setting_env_names()
        assert not unknown, f"{container['name']}: {unknown} are not settings in runtime/settings.py"


def test_the_worker_has_a_grace_period_and_no_http_probe() -> None:
    deployment = only(WORKER, "Deployment")
    container = main_container(deployment)
    assert container["args"] == ["worker"]
    assert "ports" not in container and "readinessProbe" not in container
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def test_temporal_runs_on_postgresql_without_cassandra_or_elasticsearch() -> None:
    (values,) = documents(DEPLOY / "helm" / "values-temporal.yaml")
    persistence = values["server"]["config"]["persistence"]
    for store in ("default", "visibility"):
        assert persistence[store]["driver"] == "sql"
        assert persistence[store]["sql"]["driver"] == "postgres12"
        assert persistence[store]["sql"]["existingSecret"]
    assert persistence["default"]["sql"]["database"] != persistence["visibility"]["sql"]["database"]
    for dependency in ("cassandra", "elasticsearch", "mysql"):
        assert values[dependency]["enabled"] is False
    assert values["server"]["frontend"]["service"]["port"] == 7233


def test_the_deploy_readme_names_every_required_secret_key() -> None:
    text = (DEPLOY / "README.md").read_text()
    for key in ("DATABASE_URL", "TEMPORAL_ADDRESS", "MULTIBILL_SECRET_KEY"):
        assert key in text
