"""The dataset store: datasets added at run time, one row each in the app database (spec and
contract as YAML text, who added it) and a folder in the data directory holding its data file.

Every process that reads the same app database (API replicas, the worker, the CLI) sees the same
datasets; a process writes a dataset's spec and contract next to its data file the first time it
needs them (``spec_file``), so the flows read a stored dataset exactly as they read a YAML spec.
Production shares the folder between the machines (a volume) like the MLflow artifact folder.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from astralytiq import audit
from astralytiq.db import StoredDataset, session_scope
from astralytiq.settings import Settings

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # as data_contracts.spec.NAME_PATTERN
SPEC_FILE, CONTRACT_FILE = "spec.yaml", "contract.yaml"
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")


class DatasetStoreError(ValueError):
    """A dataset cannot be stored (bad name, taken name, bad file); the message says why."""


def store_dir(settings: Settings) -> Path:
    return settings.data_dir / "dataset_store"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise DatasetStoreError(
            f"{name[:80]!r} is not a dataset name: use lower-case letters, digits and _, starting "
            "with a letter, at most 63 characters (e.g. shop_sales)"
        )
    return name


def names(settings: Settings) -> list[str]:
    with session_scope(settings.app_database_url) as session:
        return sorted(session.scalars(select(StoredDataset.name)))


def stored(settings: Settings, name: str) -> StoredDataset | None:
    if not NAME.match(name):
        return None
    with session_scope(settings.app_database_url) as session:
        row = session.get(StoredDataset, name)
        if row is not None:
            session.expunge(row)
        return row


def data_file_name(source: Path) -> str:
    """The name a data file is kept under: ``data`` plus its kind's suffix (never the uploader's)."""
    lowered = source.name.lower()
    suffix = next((s for s in sorted(DATA_SUFFIXES, key=len, reverse=True) if lowered.endswith(s)), None)
    if suffix is None:
        raise DatasetStoreError(
            f"the data file must be CSV (.csv, .csv.gz) or Parquet (.parquet), not {source.name[:80]!r}"
        )
    return f"data{suffix}"


def spec_file(settings: Settings, name: str) -> Path | None:
    """The spec file of stored dataset ``name`` (written beside its data the first time it is
    needed here, or again if the stored text changed); None when no such dataset is stored."""
    row = stored(settings, name)
    if row is None:
        return None
    folder = store_dir(settings) / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in ((SPEC_FILE, row.spec_yaml), (CONTRACT_FILE, row.contract_yaml)):
        path = folder / file_name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    return folder / SPEC_FILE


def add(
    settings: Settings,
    name: str,
    spec_yaml: str,
    contract_yaml: str,
    data: Path,
    actor: audit.Actor,
) -> StoredDataset:
    """Store a checked dataset: its data file first (write, then rename), then the row and its
    audit event in one commit. A name already taken (stored, or a YAML spec) is refused."""
    check_name(name)
    if (settings.datasets_dir / f"{name}.yaml").is_file():
        raise DatasetStoreError(f"dataset {name!r} exists as a YAML spec in {settings.datasets_dir}")
    if stored(settings, name) is not None:
        raise DatasetStoreError(f"dataset {name!r} exists already; choose another name")
    folder = store_dir(settings) / name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / data_file_name(data)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(data, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.replace(target)
    row = StoredDataset(
        name=name,
        spec_yaml=spec_yaml,
        contract_yaml=contract_yaml,
        data_file=target.name,
        data_sha256=digest,
        created_by=actor.name[:64],
    )
    try:
        with session_scope(settings.app_database_url) as session:
            session.add(row)
            audit.record(session, actor, "dataset.add", name, data_file=target.name, sha256=digest)
            session.flush()
            session.expunge(row)
    except IntegrityError:  # added by someone else in the meantime
        raise DatasetStoreError(f"dataset {name!r} exists already; choose another name") from None
    return row


STAGED = re.compile(r"^[0-9a-f]{32}(\.csv|\.csv\.gz|\.parquet)\Z")


def staging_dir(settings: Settings) -> Path:
    return store_dir(settings) / "_incoming"  # "_" never starts a dataset name


def new_staged_name(suffix: str) -> str:
    import uuid

    if suffix not in DATA_SUFFIXES:
        raise DatasetStoreError(
            f"the data file must be CSV (.csv, .csv.gz) or Parquet (.parquet), not {suffix!r}"
        )
    return uuid.uuid4().hex + suffix


def staged_path(settings: Settings, staged: str) -> Path:
    """Where an upload waits for its check: only names this module made are accepted."""
    if not STAGED.match(staged):
        raise DatasetStoreError(f"{staged[:80]!r} is not a staged upload")
    return staging_dir(settings) / staged
