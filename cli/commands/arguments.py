"""Arguments several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

DatasetArg = Annotated[
    str, typer.Argument(help="Dataset name (a <name>.yaml in the datasets folder) or a spec path.")
]
