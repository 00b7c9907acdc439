"""`astralytiq datasets add`: proposals read from the data, checked before anything is stored,
hostile names and files refused; a stored dataset is found by the flows and listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.support import REPO

DEMO = REPO / "datasets" / "demo" / "nyc_flights_daily.csv"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from astralytiq.settings import get_settings

    (tmp_path / "specs").mkdir()
    monkeypatch.setenv("ASTRALYTIQ_DATASETS_DIR", str(tmp_path / "specs"))
    monkeypatch.setenv("ASTRALYTIQ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _sales(folder: Path, series: tuple[str, ...] = ("ATL", "BOS")) -> Path:
    demo = pd.read_csv(DEMO)
    sales = demo[demo["series_id"].isin(series)][["series_id", "ds", "y"]]
    path = folder / "sales.csv"
    sales.rename(columns={"series_id": "store", "ds": "day", "y": "units"}).to_csv(path, index=False)
    return path


def add(*args: str):  # type: ignore[no-untyped-def]
    from cli.app import app

    return CliRunner().invoke(app, ["datasets", "add", *args])


MAPPING = ("--series-id", "store", "--ds", "day", "--y", "units")


def test_proposals_come_from_the_data() -> None:
    from data_contracts.propose import propose

    frame = pd.read_csv(DEMO, parse_dates=["ds"])[["series_id", "ds", "y"]]
    proposal = propose("flights", frame, [])
    assert (proposal.frequency, proposal.season_length, proposal.horizon) == ("D", 7, 14)
    assert proposal.contract["columns"]["y"] == {"type": "number", "min": 0}
    assert proposal.contract["series"] == {"max_gap_share": 0.0, "min_history": 365}
    weekly = frame[frame["ds"].dt.dayofweek == 6]
    assert propose("weekly", weekly, []).frequency == "W-SUN"
    assert propose("weekly", weekly, []).season_length == 52
    assert propose("weekly", weekly, []).horizon == 13
    short = frame[frame["ds"] < "2013-01-21"]  # 20 days: a horizon a quarter of that
    assert propose("short", short, []).horizon == 5


def test_a_dataset_is_added_listed_and_found_by_the_flows(env: Path) -> None:
    from astralytiq.db import AuditEvent, session_scope
    from astralytiq.settings import get_settings
    from cli.app import app
    from flows.dataset_specs import load_dataset_spec

    result = add("shop_sales", str(_sales(env)), *MAPPING)
    assert result.exit_code == 0, result.output
    assert "added shop_sales: 730 rows, 2 series, frequency D, season length 7, horizon 14" in result.output
    listed = CliRunner().invoke(app, ["datasets", "list"]).output
    assert "shop_sales" in listed and "added" in listed
    settings = get_settings()
    spec = load_dataset_spec("shop_sales", settings)
    assert (spec.name, spec.columns.series_id, spec.frequency) == ("shop_sales", "store", "D")
    assert spec.spec_path is not None and not spec.spec_path.is_relative_to(env / "specs")
    assert spec.resolve_path(spec.source.path or "").read_bytes() == (env / "sales.csv").read_bytes()
    with session_scope(settings.app_database_url) as session:
        event = session.query(AuditEvent).filter_by(action="dataset.add").one()
        assert event.target == "shop_sales" and event.actor.startswith("cli:")
    again = add("shop_sales", str(_sales(env)), *MAPPING)
    assert again.exit_code == 1 and "exists already" in again.output


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("../evil", None, "is not a dataset name"),
        ("Shop", None, "is not a dataset name"),
        ("bad_bytes", b"store,day,units\n\xff\xfe,2024-01-01,1\n", "UTF-8"),
        ("wrong_columns", b"a,b,c\n1,2,3\n", "store"),
        (
            "formula",
            b"store,day,units\n=cmd|' /C calc'!A0,2024-01-01,1\n=cmd|' /C calc'!A0,2024-01-02,2\n"
            b"=cmd|' /C calc'!A0,2024-01-03,2\n",
            "id_pattern",
        ),
    ],
    ids=["path", "upper-case", "non-utf8", "wrong-columns", "formula-injection"],
)
def test_bad_datasets_are_refused_and_nothing_is_stored(
    env: Path, name: str, content: bytes | None, fragment: str
) -> None:
    from astralytiq import dataset_store
    from astralytiq.settings import get_settings

    data = _sales(env)
    if content is not None:
        data.write_bytes(content)
    result = add(name, str(data), *MAPPING)
    assert result.exit_code == 1, result.output
    assert fragment in result.output, result.output
    assert dataset_store.names(get_settings()) == []
    assert not (env / "data" / "dataset_store" / "evil").exists()


def test_a_contract_the_data_breaks_stores_nothing(env: Path) -> None:
    from astralytiq import dataset_store
    from astralytiq.settings import get_settings

    strict = env / "strict.yaml"
    strict.write_text(
        "dataset: any\ncolumns: {series_id: {type: string}, ds: {type: datetime}, y: {type: number, max: 10}}\n"
    )
    result = add("strict_sales", str(_sales(env)), *MAPPING, "--contract", str(strict))
    assert result.exit_code == 1 and "not added: contract 'strict_sales' failed" in result.output
    assert dataset_store.names(get_settings()) == []
