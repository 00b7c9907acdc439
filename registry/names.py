"""Names the registry's writers (training, the gate, promotion) and readers (the API, the CLI)
share: the aliases, the tags and where artifacts sit. Spelled here only; no imports, so the API
process can use them without MLflow."""

from __future__ import annotations

from typing import Final, Literal

CHAMPION: Final = "champion"  # the version the API serves; moved by the gate, promote and rollback
CHALLENGER: Final = "challenger"  # the newest version that did not beat the champion
Alias = Literal["champion", "challenger"]

IDEMPOTENCY_TAG: Final = "idempotency_key"  # on a training run and its model version
CONTRACT_TAG: Final = "contract"  # "passed" (training runs) or "failed" (a contract that stopped a flow)
BUNDLE_ARTIFACT: Final = "bundle"  # the pyfunc artifact holding the bundle JSON
BUNDLE_FILE: Final = f"artifacts/{BUNDLE_ARTIFACT}.json"  # the bundle inside a logged model
REPORT_FOLDER: Final = "contract_report"  # a run's contract report: report.json, summary, Data Docs


def as_alias(text: str | None) -> Alias | None:
    """``text`` as one of the aliases the platform sets, or None."""
    return CHAMPION if text == CHAMPION else CHALLENGER if text == CHALLENGER else None


SNAPSHOT_FOLDER: Final = "forecast_snapshots"  # a model run's published roll-forward bundles
BACKTEST_WINDOWS_NAME: Final = "backtest_windows.json"
# A training run's chosen-model forecasts per backtest window (models.backtest_windows).
BACKTEST_WINDOWS_FILE: Final = f"backtest/{BACKTEST_WINDOWS_NAME}"
