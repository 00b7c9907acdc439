"""Deployment files validated as tests: compose and Cloud Build against their JSON schemas."""

import re
import subprocess

import pytest
import yaml

from tests.support import BIN, REPO


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.compose-spec", "docker-compose.yml"),
        ("vendor.cloudbuild", "cloudbuild.yaml"),
    ],
)
def test_file_matches_its_published_schema(schema: str, path: str) -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(REPO / path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_secrets_have_no_defaults() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for name in ("ASTRALYTIQ_SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{name} must be required: ${{{name}:?...}}"


def test_compose_runs_every_component() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "mlflow", "prefect", "api", "portal", "prometheus"} <= set(services)


def test_images_run_as_non_root_with_health_checks() -> None:
    dockerfile = (REPO / "infra" / "docker" / "Dockerfile").read_text()
    assert "USER astralytiq" in dockerfile
    for target in ("api", "portal"):
        stage = dockerfile.split(f"AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "HEALTHCHECK" in stage, target
