"""The JSON Schemas the API publishes are the specs' own, and they catch what loading catches."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from data_contracts.json_schema import FOLDER, SCHEMAS, render
from tests.support import REPO


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_files_are_up_to_date(name: str) -> None:
    committed = (FOLDER / f"{name}.json").read_text(encoding="utf-8")
    assert committed == render(name), "run `python -m data_contracts.json_schema` and commit the result"


def test_the_repos_spec_and_contract_are_valid_against_their_schemas() -> None:
    spec = yaml.safe_load((REPO / "datasets" / "nyc_flights.yaml").read_text())
    spec["training"]["until"] = str(spec["training"]["until"])  # YAML reads a date; JSON has text
    jsonschema.validate(spec, json.loads((FOLDER / "dataset-spec.json").read_text()))
    contract = yaml.safe_load((REPO / "data_contracts" / "contracts" / "nyc_flights.yaml").read_text())
    jsonschema.validate(contract, json.loads((FOLDER / "data-contract.json").read_text()))


def test_the_schema_refuses_a_typo_in_a_candidate_and_an_unknown_field() -> None:
    schema = json.loads((FOLDER / "dataset-spec.json").read_text())
    base = {"name": "t", "source": {"kind": "csv", "path": "t.csv"}, "frequency": "D", "season_length": 7}
    jsonschema.validate({**base, "horizon": 7}, schema)
    with pytest.raises(jsonschema.ValidationError, match="'thetaa' is not one of"):
        jsonschema.validate({**base, "horizon": 7, "training": {"candidates": ["thetaa"]}}, schema)
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate({**base, "horizon": 7, "horizn": 7}, schema)


def _fields(schema: dict, node: dict, prefix: str = "") -> set[str]:
    """Every leaf field of a schema: ``training.candidates``, ``source.kind`` ..."""
    found: set[str] = set()
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        refs = [prop.get("$ref")] + [option.get("$ref") for option in prop.get("anyOf", [])]
        blocks = [schema["$defs"][ref.split("/")[-1]] for ref in refs if ref]
        if blocks:
            for block in blocks:
                found |= _fields(schema, block, f"{path}.")
        else:
            found.add(path)
    return found


def test_the_readme_reference_names_every_field_and_candidate() -> None:
    from models import defaults

    readme = (REPO / "README.md").read_text()
    reference = readme[readme.index("### Spec and contract reference") :]
    reference = reference[: reference.index("`max_gap_share` counts missing steps")]
    spec = json.loads((FOLDER / "dataset-spec.json").read_text())
    for field in _fields(spec, spec):
        assert f"`{field}`" in reference, field
    contract = json.loads((FOLDER / "data-contract.json").read_text())
    for field in _fields(contract, contract) - {"columns"}:
        assert f"`{field}`" in reference, field
    for name in (*defaults.FORECASTERS, *defaults.COMBINATIONS):
        assert f"`{name}`" in reference, name
