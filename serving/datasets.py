"""Which model a dataset trains, for per-model authorization of dataset routes (pipelines,
contract reports), and a dataset's name as answers show it (never a path on the server)."""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from astralytiq import dataset_store
from astralytiq.settings import Settings
from serving.access import Principal

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # a dataset spec's file stem (data_contracts.spec)


def dataset_name(value: str) -> str:
    """A dataset argument as answers show it: a spec given by path (a simulated copy, a spec
    outside the datasets folder) is shown by its file's stem, never its absolute path."""
    if "/" in value or "\\" in value or value.endswith((".yaml", ".yml")):
        return PurePath(value.replace("\\", "/")).stem
    return value


# An absolute POSIX path of two parts or more (not a URL's path: that follows "host" or ":";
# not "/C" in a command line or "km/h") or a Windows one.
_POSIX_PATH = re.compile(r"(?<![\w:/.~-])~?(?:/[^\s/'\"`:;,()\[\]{}<>|]+){2,}/?")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\s\\'\"`:;,<>|]+\\)*[^\s\\'\"`:;,<>|]*")


def hide_paths(text: str) -> str:
    """Text from a run (a state message, a log line) with every server path shown by its last
    part only: a dataset file by its name, never where the platform keeps it."""

    def last_part(match: re.Match[str]) -> str:
        parts = [p for p in re.split(r"[/\\]", match.group(0)) if p and p != "~"]
        return parts[-1] if parts else match.group(0)

    return _WINDOWS_PATH.sub(last_part, _POSIX_PATH.sub(last_part, text))


def dataset_names(settings: Settings) -> list[str]:
    """Every dataset by name: the YAML specs in the datasets folder, then those added at run time."""
    folder = (
        sorted(p.stem for p in settings.datasets_dir.glob("*.yaml") if NAME.match(p.stem))
        if settings.datasets_dir.is_dir()
        else []
    )
    return folder + [name for name in dataset_store.names(settings) if name not in folder]


class DatasetModels:
    """Dataset name -> the registered model its spec trains (the spec's ``model_name``,
    by default the dataset's own name); None for a dataset with no spec here."""

    def __init__(self, datasets_dir: Path, settings: Settings | None = None) -> None:
        self.datasets_dir = datasets_dir
        self.settings = settings  # to look in the dataset store (datasets added at run time)
        self._known: dict[str, str | None] = {}

    def model_of(self, dataset: str) -> str | None:
        if dataset not in self._known:
            self._known[dataset] = self._read(dataset_name(dataset))
        return self._known[dataset]

    def _read(self, name: str) -> str | None:
        # The spec's two names only: validating a whole spec needs pandas, which the API lacks.
        import yaml

        if not NAME.match(name):
            return None
        path = self.datasets_dir / f"{name}.yaml"
        try:
            if path.is_file():
                text = path.read_text(encoding="utf-8")
            elif self.settings is not None and (row := dataset_store.stored(self.settings, name)):
                text = row.spec_yaml
            else:
                return None
            spec = yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError):
            return None
        if not isinstance(spec, dict):
            return None
        model = spec.get("model_name") or spec.get("name") or name
        return str(model)

    def allows(self, principal: Principal, dataset: str | None) -> bool:
        """Whether ``principal`` may see or act on ``dataset``: an unscoped caller any; a key
        scoped to models only datasets whose model is one of them (unknown ones: none)."""
        if not principal.models:
            return True
        model = self.model_of(dataset) if dataset else None
        return model is not None and principal.can_use(model)
