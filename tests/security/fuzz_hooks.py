"""schemathesis hooks for fuzzing the API (loaded through SCHEMATHESIS_HOOKS by the fuzz run).

The fuzzer is an admin on an API of its own, but the MLflow server is the test session's: a
champion change is pointed at the model registered for fuzzing, so no other test's champion
moves; and the fuzzer's own account is never disabled, demoted or given a new password, which
would end its session midway (every later answer a 401, testing nothing)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

FUZZ_MODEL = os.environ.get("ASTRALYTIQ_FUZZ_MODEL", "fuzz_model")
FUZZER = os.environ.get("ASTRALYTIQ_FUZZ_USER", "admin")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    path_parameters = case.path_parameters or {}
    if case.path.endswith(("/promote", "/rollback")):
        path_parameters["name"] = FUZZ_MODEL
    username = path_parameters.get("username")
    if isinstance(username, str) and username.lower() == FUZZER.lower():
        path_parameters["username"] = f"{FUZZER}-not"
    if path_parameters:
        case.path_parameters = path_parameters


@schemathesis.deserializer("text/html")
def html_text(ctx: Any, response: Any) -> str:
    """The drift report and Data Docs pages are documented as strings: check them as such."""
    return str(response.text)
