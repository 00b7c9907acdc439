"""Where a dataset's spec is: a path as given, a YAML spec in the datasets folder, or a dataset
added at run time (the dataset store). Flows, the worker and the CLI all look datasets up here."""

from __future__ import annotations

from pathlib import Path

from astralytiq import dataset_store
from astralytiq.settings import Settings
from data_contracts.spec import DatasetSpec, SpecError, available_datasets, load_spec


def spec_location(dataset: str, settings: Settings) -> str | Path:
    """What ``load_spec`` should read for ``dataset``."""
    if "/" in dataset or dataset.endswith((".yaml", ".yml")):
        return dataset
    if (settings.datasets_dir / f"{dataset}.yaml").is_file():
        return dataset
    return dataset_store.spec_file(settings, dataset) or dataset


def load_dataset_spec(dataset: str, settings: Settings) -> DatasetSpec:
    """The spec of ``dataset``, wherever it is kept; its ``name`` is the dataset's name."""
    spec = load_spec(spec_location(dataset, settings), settings.datasets_dir)
    if spec.spec_path is not None and spec.spec_path.name == dataset_store.SPEC_FILE and spec.name != dataset:
        raise SpecError(f"stored dataset {dataset!r} holds a spec named {spec.name!r}")
    return spec


def all_datasets(settings: Settings) -> list[str]:
    """Every dataset by name: the YAML specs in the folder, then those added at run time."""
    folder = available_datasets(settings.datasets_dir)
    return folder + [name for name in dataset_store.names(settings) if name not in folder]
