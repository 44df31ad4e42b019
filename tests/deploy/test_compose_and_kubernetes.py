"""The deployment files: the compose file validates, the manifests carry probes, resources and
an autoscaler, the images copy what exists, and no secret is written into any of them."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
SECRETS = (
    "MALL_API_TOKEN",
    "RASA_API_TOKEN",
    "HANDOFF_TOKEN",
    "WEB_CHANNEL_SECRET",
    "METRICS_TOKEN",
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "ANALYTICS_API_TOKEN",
)
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|DATABASE_URL|DB_URL)$")


def compose_command() -> list[str] | None:
    """`docker compose` when the plugin is there, else Debian's docker-compose, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def compose_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update({name: f"{name.lower()}-for-the-check" for name in SECRETS}, **overrides)
    return env


def run_compose(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    assert command is not None
    return subprocess.run(
        [*command, "-f", str(COMPOSE), "config", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


needs_compose = pytest.mark.skipif(compose_command() is None, reason="no docker compose")


@needs_compose
def test_the_compose_file_validates() -> None:
    result = run_compose(compose_env(), "-q")
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_refuses_to_run_without_its_secrets() -> None:
    env = compose_env()
    del env["MALL_API_TOKEN"]
    result = run_compose(env, "-q")
    assert result.returncode != 0
    assert "MALL_API_TOKEN" in result.stderr


@needs_compose
def test_the_resolved_compose_mirrors_make_cluster() -> None:
    result = run_compose(compose_env())
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"rasa-1", "rasa-2", "actions-1", "actions-2", "lb", "mall", "desk"} <= set(services)
    assert services["analytics"]["environment"]["ANALYTICS_BROKER"] == "pika"
    assert {"postgres", "redis", "rabbitmq", "prometheus", "grafana"} <= set(services)
    published = {
        name: [port if isinstance(port, dict) else {"published": port} for port in spec["ports"]]
        for name, spec in services.items()
        if spec.get("ports")
    }
    # Only the load balancer (channels) and the desk face clients; Grafana only this host.
    assert set(published) == {"lb", "desk", "grafana"}, published
    for port in published["grafana"]:  # docker compose v2 resolves ports to mappings, v1 not
        assert port.get("host_ip") == "127.0.0.1" or str(port["published"]).startswith(
            "127.0.0.1:"
        ), port
    grafana = services["grafana"]
    mounts = [
        volume if isinstance(volume, str) else volume["target"] for volume in grafana["volumes"]
    ]
    assert any("/etc/grafana/dashboards/mall-assistant.json" in mount for mount in mounts)
    rasa = services["rasa-1"]["environment"]
    assert rasa["ACTION_ENDPOINT_URL"] == "http://lb:5055/webhook"
    assert rasa["TRACKER_DB_URL"].startswith("postgresql://")
    assert rasa["REDIS_HOST"] == "redis" and rasa["RABBITMQ_HOST"] == "rabbitmq"


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_takes_every_secret_from_the_environment() -> None:
    text = COMPOSE.read_text()
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Z_]+):\s*(.+)$", line)
        if match and SECRET_NAME.search(match.group(1)) and match.group(1) != "REDIS_PASSWORD":
            assert "${" in match.group(2), line
    for name in SECRETS:
        assert f"${{{name}:?" in text, name
    services = raw_compose()["services"]
    for name in (
        "mall",
        "desk",
        "analytics",
        "actions-1",
        "rasa-1",
        "postgres",
        "redis",
        "rabbitmq",
    ):
        assert "healthcheck" in services[name], name


def test_the_load_balancer_config_balances_two_of_each_and_hides_metrics() -> None:
    config = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    assert re.findall(r"server (rasa-\d) ", config) == ["rasa-1", "rasa-2"]
    assert re.findall(r"server (actions-\d) ", config) == ["actions-1", "actions-2"]
    assert "deny deny_status 404 if { path_beg /webhooks/metrics }" in config


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
def test_haproxy_accepts_the_config(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text((DEPLOY / "haproxy" / "haproxy.cfg").read_text())
    result = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_copies_what_exists_and_builds_both_images() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE)
    assert {"base", "model", "app", "rasa"} <= set(stages)
    for line in dockerfile.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
        assert not re.search(r"ENV .*(TOKEN|SECRET|PASSWORD)", line), line
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", "models", ".env"} <= set(ignored)


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def test_every_deployment_has_probes_resources_and_secrets_by_reference() -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == {"rasa", "actions", "mall", "desk", "analytics"}
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        for container in spec["template"]["spec"]["containers"]:
            ports = {port["name"] for port in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["port"] in ports, (name, probe)
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), (name, bound)
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable["valueFrom"], (name, variable["name"])
    assert deployments["rasa"]["spec"]["replicas"] == 2
    assert deployments["actions"]["spec"]["replicas"] == 2


def test_rasa_is_sized_from_the_measurements_and_autoscaled() -> None:
    rasa = of_kind("Deployment")["rasa"]["spec"]["template"]["spec"]["containers"][0]
    # 840 MB resident was measured with the model loaded: the request must hold it.
    assert rasa["resources"]["requests"]["memory"] == "1Gi"
    assert "startupProbe" in rasa
    [hpa] = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "rasa",
    }
    assert (
        hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    )
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_services_select_deployments_and_nothing_is_exposed_outside_the_cluster() -> None:
    deployments = of_kind("Deployment")
    for name, service in of_kind("Service").items():
        assert service["spec"]["type"] == "ClusterIP", name
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
    assert not of_kind("Secret"), "secrets are created by the operator, never committed"


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    files = {path.name for path in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    for generated in kustomization["configMapGenerator"]:
        for source in generated["files"]:
            assert (DEPLOY / "kubernetes" / source).resolve().exists()


# The compose services that run the project's processes, by the settings' process names.
PROCESS_OF_SERVICE = {
    "rasa-1": "rasa",
    "rasa-2": "rasa",
    "actions-1": "actions",
    "actions-2": "actions",
    "mall": "mall",
    "desk": "desk",
    "analytics": "analytics",
}


def _service_env(service: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """A service's environment as compose resolves it: `${X:?...}` from `given`, `${X:-d}`."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        if name in given:
            return given[name]
        assert match.group(2) == ":-", f"{name} has no default and is not given"
        return default

    pattern = re.compile(r"\$\{([A-Z_]+)(:\?|:-)([^}]*)\}")
    return {key: pattern.sub(value, str(raw)) for key, raw in service["environment"].items()}


def test_every_process_of_the_compose_file_runs_as_production_with_what_it_is_given() -> None:
    """MALL_ASSISTANT_ENV=production refuses missing or weak secrets: each process's
    settings must accept the environment compose hands it, in that mode."""
    from scripts.settings_table import EVERY_PROCESS, processes

    given = {name: secrets.token_urlsafe(32) for name in SECRETS}
    services = raw_compose()["services"]
    assert set(PROCESS_OF_SERVICE) <= set(services)
    for service, process in PROCESS_OF_SERVICE.items():
        env = _service_env(services[service], given)
        assert env.get("MALL_ASSISTANT_ENV") == "production", service
        checked = 0
        for owner, settings_class in processes():
            if owner not in (process, EVERY_PROCESS):
                continue
            if (
                settings_class.__name__ == "KafkaSettings"
                and env.get("ANALYTICS_BROKER") != "kafka"
            ):
                continue
            settings = settings_class.from_env(env)
            assert settings.environment == "production", (service, settings_class.__name__)
            checked += 1
        assert checked >= 2, service  # its own settings and the metrics'
    # The same environment with a placeholder secret is refused: the mode is really on.
    rasa = _service_env(services["rasa-1"], {**given, "MALL_API_TOKEN": "changeme"})
    from actions.settings import Settings as ActionSettings

    with pytest.raises(ValueError, match="MALL_API_TOKEN"):
        ActionSettings.from_env(rasa)


def test_every_kubernetes_process_runs_as_production() -> None:
    [config] = of_kind("ConfigMap").values()
    assert config["data"]["MALL_ASSISTANT_ENV"] == "production"
    for name, deployment in of_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            sources = [
                source.get("configMapRef", {}).get("name") for source in container["envFrom"]
            ]
            assert config["metadata"]["name"] in sources, (name, container["name"])


def test_the_kubernetes_processes_get_what_their_compose_services_get() -> None:
    """Each manifest's container is given (by the ConfigMap, a value or a secret) every
    variable its compose service sets, but the mall token the analytics process never reads."""
    [config] = of_kind("ConfigMap").values()
    services = raw_compose()["services"]
    deployments = of_kind("Deployment")
    not_read = {"analytics": {"MALL_API_TOKEN"}}
    for name in ("analytics", "desk", "mall"):
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        given = set(config["data"]) | {variable["name"] for variable in container.get("env", [])}
        wanted = set(services[name]["environment"]) - not_read.get(name, set())
        assert wanted - given == set(), name
    analytics = deployments["analytics"]["spec"]
    assert analytics["replicas"] == 1  # one consumer of the queue
    assert of_kind("Service")["analytics"]["spec"]["ports"][0]["port"] == 5058
