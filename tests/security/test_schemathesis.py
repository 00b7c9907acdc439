"""schemathesis against the running API's own OpenAPI, logged in as an admin: every operation,
valid and invalid inputs, zero server errors and zero responses outside the documented schema.

The API runs as a real process with its own app database (users and keys it creates are its
own); champion changes are pointed at a model registered for this test only, so the fuzzing
cannot move a champion other tests rely on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.conftest import Platform
from tests.support.api_process import ApiProcess, api_process, prepare_database
from tests.support.factories import bundle, register, set_champion

FUZZ_MODEL = "fuzz_model"


@pytest.fixture(scope="module")
def fuzzed_api(
    platform_env: Platform, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    from prefect.settings import PREFECT_API_URL

    first = register(platform_env.tracking_uri, FUZZ_MODEL, bundle(FUZZ_MODEL, mean=10.0).to_json())
    register(platform_env.tracking_uri, FUZZ_MODEL, bundle(FUZZ_MODEL, mean=20.0).to_json())
    set_champion(platform_env.tracking_uri, FUZZ_MODEL, first)
    data_dir: Path = tmp_path_factory.mktemp("fuzzed-api")
    prepare_database(data_dir)
    # Generous login limits: the fuzzer's failed logins are not what is tested here.
    extra = {
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_ACCOUNT": "100000",
        "ASTRALYTIQ_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
        # The pipelines routes talk to Prefect: the session's test server.
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "ASTRALYTIQ_PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    with api_process(platform_env, data_dir, extra) as api:
        yield api


MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _fuzz(operation: Any, mode: Any, headers: dict[str, str]) -> str | None:
    """The first failure of one operation in one generation mode, as text (None: all passed)."""

    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        if case.path.endswith(("/promote", "/rollback")):
            case.path_parameters["name"] = FUZZ_MODEL
        if case.path == "/v1/admin/users/{username}" and case.path_parameters.get("username") == "admin":
            case.path_parameters["username"] = "admin-not"  # the fuzzer must not lock its admin out
        case.call_and_validate(headers={**(case.headers or {}), **headers})

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to test
        return None
    except (Exception, BaseExceptionGroup) as exc:  # a schemathesis failure group: reported whole
        return f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}"[:3000]
    return None


def test_the_api_honours_its_openapi(fuzzed_api: ApiProcess) -> None:
    # (schemathesis' own pytest integration does not run under pytest 9 yet: the loop is here.)
    schema = schemathesis.openapi.from_url(f"{fuzzed_api.url}/openapi.json")
    admin = fuzzed_api.token("admin", "admin-password-1")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20  # every route of the API, not a subset
    failures = [f for op in operations for mode in MODES if (f := _fuzz(op, mode, admin)) is not None]
    assert not failures, "\n\n".join(failures)
