"""The rules of a data contract, one class each: what it checks (a Great Expectations expectation),
what it expects in words, why data broke it in one line, and whether it singles out bad rows
(those are the rows quarantine sets aside).

Adding a rule is one class here. Subclass ``TableRule`` (checked once), ``ColumnRule`` (once per
contract column) or ``SeriesRule`` (once, when the data has ``series_id`` and ``ds`` as
timestamps); give it a ``name``; say when it applies (``applies``), what it checks
(``expectation``), what it expects (``expects``) and how a failure reads (``explain``). A rule
that needs a value GX cannot compute (per-series order, say) names a ``helper`` column and
``derive``s it. Defining the class adds the rule to every check, report, Data Docs page and
quarantine; reports list rules in the order they are defined here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from data_contracts.contract import ColumnRule as ColumnSpec
from data_contracts.contract import Contract
from models.frame import DS, SERIES_ID

_FINITE = 1e300  # bounds that catch +-inf where the contract gives no range
_TYPES = {
    "number": ["float64", "int64", "float32", "int32", "Float64", "Int64"],
    "datetime": ["datetime64[ns]", "datetime64"],
    "string": ["str"],
}


@dataclass(frozen=True)
class Failure:
    """What the checkpoint reports of a rule that did not hold."""

    count: int | None  # rows (or steps) that broke it; None where GX counts nothing
    observed: Any  # the value GX observed, for rules on a whole column or table
    example: str  # " (e.g. ATL 2024-01-04)", or "" when GX gave no example


class Rule(ABC):
    """One rule as it applies to one contract (and one column, for column rules)."""

    name: ClassVar[str]  # what reports, the Data Docs and quarantine files call it
    helper: ClassVar[str | None] = None  # a column ``derive`` adds before the check

    def __init__(self, contract: Contract, freq: str, column: str) -> None:
        self.contract, self.freq, self.column = contract, freq, column

    @property
    def row_level(self) -> bool:
        """Whether it singles out the rows that break it (quarantine sets those aside)."""
        return False

    @abstractmethod
    def expectation(self) -> Any:
        """The Great Expectations expectation that checks it."""

    @property
    @abstractmethod
    def expects(self) -> str:
        """What the rule asks, in words: "finite values in [0, inf]"."""

    @abstractmethod
    def explain(self, failure: Failure) -> str:
        """Why the data broke it, in one line naming the column."""

    def derive(self, frame: pd.DataFrame) -> pd.Series:
        """The ``helper`` column's values (rules with a helper override this)."""
        raise NotImplementedError(f"rule {self.name!r} names no helper column")


class TableRule(Rule):
    """Checked once per contract, on the whole table."""

    table: ClassVar[list[type[TableRule]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TableRule.table.append(cls)

    def __init__(self, contract: Contract, freq: str) -> None:
        super().__init__(contract, freq, "(table)")

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return True


class ColumnRule(Rule):
    """Checked once per column the contract declares."""

    per_column: ClassVar[list[type[ColumnRule]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ColumnRule.per_column.append(cls)

    @property
    def spec(self) -> ColumnSpec:
        return self.contract.columns[self.column]

    @classmethod
    def applies(cls, spec: ColumnSpec, present: bool) -> bool:
        """Whether it checks a column declared as ``spec`` (``present``: the data has it)."""
        return present


class SeriesRule(Rule):
    """Checked once per contract on the per-series time keys: only when the data has
    ``series_id`` and ``ds`` as timestamps (otherwise the column rules say what is wrong)."""

    per_series: ClassVar[list[type[SeriesRule]]] = []
    on_column: ClassVar[str] = DS  # the column a failure is reported on

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        SeriesRule.per_series.append(cls)

    def __init__(self, contract: Contract, freq: str) -> None:
        super().__init__(contract, freq, self.on_column)

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return True


def _gx() -> Any:
    import great_expectations as gx

    return gx.expectations


def _bounds(spec: ColumnSpec) -> str:
    low = "-inf" if spec.min is None else spec.min
    high = "inf" if spec.max is None else spec.max
    return f"[{low}, {high}]"


# ---- the table ------------------------------------------------------------------------------


class MaximumRows(TableRule):
    name = "maximum rows"

    def expectation(self) -> Any:
        return _gx().ExpectTableRowCountToBeBetween(min_value=1, max_value=self.contract.limits.max_rows)

    @property
    def expects(self) -> str:
        return f"1 to {self.contract.limits.max_rows:,} rows"

    def explain(self, failure: Failure) -> str:
        return f"table: {failure.observed} rows, outside 1..{self.contract.limits.max_rows:,}"


# ---- each column ----------------------------------------------------------------------------


class ColumnExists(ColumnRule):
    name = "column exists"

    @classmethod
    def applies(cls, spec: ColumnSpec, present: bool) -> bool:
        return not present and spec.required

    def expectation(self) -> Any:
        return _gx().ExpectColumnToExist(column=self.column)

    @property
    def expects(self) -> str:
        return "present"

    def explain(self, failure: Failure) -> str:
        return f"column {self.column!r}: required by the contract but missing from the data"


class ColumnType(ColumnRule):
    name = "column type"

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToBeInTypeList(column=self.column, type_list=_TYPES[self.spec.type])

    @property
    def expects(self) -> str:
        return f"{self.spec.type} values"

    def explain(self, failure: Failure) -> str:
        observed = failure.observed if failure.observed is not None else "other"
        return f"column {self.column!r}: holds {observed} values, the contract says {self.spec.type}"


class MissingValueBudget(ColumnRule):
    name = "missing-value budget"

    @classmethod
    def applies(cls, spec: ColumnSpec, present: bool) -> bool:
        return present and spec.max_missing_share < 1

    @property
    def row_level(self) -> bool:
        return self.spec.max_missing_share == 0  # with a budget, no single row is at fault

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToNotBeNull(column=self.column, mostly=1 - self.spec.max_missing_share)

    @property
    def expects(self) -> str:
        budget = self.spec.max_missing_share
        return f"at most {budget:.1%} missing" if budget else "no missing values"

    def explain(self, failure: Failure) -> str:
        budget = self.spec.max_missing_share
        allowed = f"over the budget of {budget:.1%}" if budget else "the contract allows none"
        return f"column {self.column!r}: {failure.count} missing value(s), {allowed}"


class ValueRange(ColumnRule):
    name = "value range"

    @classmethod
    def applies(cls, spec: ColumnSpec, present: bool) -> bool:
        return present and spec.type == "number"

    @property
    def row_level(self) -> bool:
        return True

    def expectation(self) -> Any:
        low = self.spec.min if self.spec.min is not None else -_FINITE
        high = self.spec.max if self.spec.max is not None else _FINITE
        return _gx().ExpectColumnValuesToBeBetween(column=self.column, min_value=low, max_value=high)

    @property
    def expects(self) -> str:
        return f"finite values in {_bounds(self.spec)}"

    def explain(self, failure: Failure) -> str:
        return (
            f"column {self.column!r}: {failure.count} value(s) outside {_bounds(self.spec)} "
            f"or not finite{failure.example}"
        )


# ---- each series ----------------------------------------------------------------------------


def on_grid(ds: pd.Series, freq: str) -> pd.Series:
    """Whether each timestamp sits on the frequency's grid (midnight for D, a Sunday for W-SUN)."""
    from pandas.tseries.frequencies import to_offset
    from pandas.tseries.offsets import Tick

    offset = to_offset(freq)
    present = ds.notna()
    result = pd.Series(True, index=ds.index)
    if isinstance(offset, Tick):
        result[present] = ds[present].astype("int64") % offset.nanos == 0
    else:
        # Few distinct dates even in big data: check each once, not each row.
        unique = pd.Series(ds[present].unique())
        valid = {value: offset.is_on_offset(value) and value == value.normalize() for value in unique}
        result[present] = ds[present].map(valid).astype(bool)
    return result


def _since_latest_earlier(values: pd.Series, series: pd.Series) -> pd.Series:
    """Each value minus the largest earlier value of its series, in file order (NaN for the first)."""
    latest = values.groupby(series).cummax().groupby(series).shift()
    return values - latest


class UniqueTimestamps(SeriesRule):
    name = "unique timestamps per series"

    def expectation(self) -> Any:
        return _gx().ExpectCompoundColumnsToBeUnique(column_list=[SERIES_ID, DS])

    @property
    def expects(self) -> str:
        return "one row per (series_id, ds)"

    def explain(self, failure: Failure) -> str:
        return f"column {DS!r}: {failure.count} row(s) repeat a (series_id, ds) pair{failure.example}"


class StrictlyIncreasing(SeriesRule):
    name = "strictly increasing timestamps"
    # Named so the Data Docs read plainly ("_after_previous_row values must be 1.0").
    helper = "_after_previous_row"

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return contract.series.strictly_increasing

    @property
    def row_level(self) -> bool:
        return True

    def derive(self, frame: pd.DataFrame) -> pd.Series:
        # 1 where a row's timestamp is after every earlier one of its series; 0 for a duplicate or
        # a row out of order; NaN where ds is missing (the missing-value rule reports those).
        missing = frame[DS].isna()
        nanos = pd.Series(frame[DS].array.asi8, index=frame.index, dtype="float64").mask(missing)
        after = _since_latest_earlier(nanos, frame[SERIES_ID])
        return (after.isna() | (after > 0)).astype(float).mask(missing)

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToBeInSet(column=self.helper, value_set=[1.0])

    @property
    def expects(self) -> str:
        return "each row after the earlier rows of its series"

    def explain(self, failure: Failure) -> str:
        return (
            f"column {DS!r}: {failure.count} row(s) not after the previous row of their series "
            "(unsorted or duplicated)"
        )


class FrequencyGrid(SeriesRule):
    name = "frequency grid"
    helper = "_on_frequency_grid"

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return contract.series.regular_frequency

    @property
    def row_level(self) -> bool:
        return True

    def derive(self, frame: pd.DataFrame) -> pd.Series:
        return on_grid(frame[DS], self.freq)

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToBeInSet(column=self.helper, value_set=[True])

    @property
    def expects(self) -> str:
        return f"timestamps on the {self.freq!r} grid"

    def explain(self, failure: Failure) -> str:
        return f"column {DS!r}: {failure.count} timestamp(s) off the {self.freq!r} grid (mixed frequency?)"


class RegularFrequency(SeriesRule):
    """A budget of missing steps per series. A hole of 20 days is 20 missing steps, not one
    break: each series' share is its missing periods over the periods its timeline spans."""

    name = "regular frequency"
    helper = "_missing_step_share"  # per row: the share of its series' steps that are missing

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return contract.series.regular_frequency

    def derive(self, frame: pd.DataFrame) -> pd.Series:
        return missing_step_share(frame, self.freq)

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToBeBetween(
            column=self.helper, min_value=0, max_value=self.contract.series.max_gap_share
        )

    @property
    def expects(self) -> str:
        return (
            f"one {self.freq!r} period per step, at most {self.contract.series.max_gap_share:.1%} "
            "of each series' steps missing"
        )

    def explain(self, failure: Failure) -> str:
        return (
            f"column {DS!r}: {failure.count} row(s) belong to series that miss more than "
            f"{self.contract.series.max_gap_share:.1%} of their {self.freq!r} steps (the gap budget)"
        )


def missing_step_share(frame: pd.DataFrame, freq: str) -> pd.Series:
    """Each row's series' share of missing steps: periods its timeline spans that have no row,
    over the periods spanned (NaN where ds is missing; the missing-value rule reports those)."""
    missing = frame[DS].isna()
    ordinals = pd.Series(frame[DS].dt.to_period(freq).array.asi8, index=frame.index, dtype="float64")
    ordinals = ordinals.mask(missing)
    by_series = ordinals.groupby(frame[SERIES_ID], dropna=False)
    spanned = by_series.transform("max") - by_series.transform("min") + 1
    present = by_series.transform("nunique")
    return ((spanned - present) / spanned).mask(missing)


class SeriesIdCharacters(SeriesRule):
    """Series ids land in HTML reports, URLs, file names, CSV and logs: by default a contract keeps
    markup, quotes and control characters out of them (``series.id_pattern``; null: any id)."""

    name = "series id characters"
    on_column = SERIES_ID

    @classmethod
    def applies(cls, contract: Contract) -> bool:
        return contract.series.id_pattern is not None

    @property
    def row_level(self) -> bool:
        return True

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToMatchRegex(column=SERIES_ID, regex=self.contract.series.id_pattern)

    @property
    def expects(self) -> str:
        return f"ids matching {self.contract.series.id_pattern}"

    def explain(self, failure: Failure) -> str:
        return (
            f"column {SERIES_ID!r}: {failure.count} row(s) have an id outside the contract's "
            f"id_pattern{failure.example}; rename those series or set series.id_pattern"
        )


class MinimumHistory(SeriesRule):
    name = "minimum history"
    on_column = SERIES_ID
    helper = "_rows_in_series"

    def derive(self, frame: pd.DataFrame) -> pd.Series:
        return frame.groupby(SERIES_ID, dropna=False)[DS].transform("size")

    def expectation(self) -> Any:
        return _gx().ExpectColumnValuesToBeBetween(
            column=self.helper, min_value=self.contract.series.min_history
        )

    @property
    def expects(self) -> str:
        return f"at least {self.contract.series.min_history} observations per series"

    def explain(self, failure: Failure) -> str:
        return (
            f"column {SERIES_ID!r}: {failure.count} row(s) belong to series shorter than "
            f"{self.contract.series.min_history} observations"
        )


class MaximumSeries(SeriesRule):
    name = "maximum series"
    on_column = SERIES_ID

    def expectation(self) -> Any:
        return _gx().ExpectColumnUniqueValueCountToBeBetween(
            column=SERIES_ID, min_value=1, max_value=self.contract.limits.max_series
        )

    @property
    def expects(self) -> str:
        return f"1 to {self.contract.limits.max_series:,} series"

    def explain(self, failure: Failure) -> str:
        return (
            f"column {SERIES_ID!r}: {failure.observed} series, outside 1..{self.contract.limits.max_series:,}"
        )


# ---- a contract's rules ---------------------------------------------------------------------


def has_time_keys(df: pd.DataFrame) -> bool:
    return {SERIES_ID, DS} <= set(df.columns) and pd.api.types.is_datetime64_any_dtype(df[DS])


def rules_for(contract: Contract, df: pd.DataFrame, freq: str) -> list[Rule]:
    """Every rule of ``contract`` that applies to ``df``: the table's, each column's (in the
    contract's order), then the per-series ones."""
    rules: list[Rule] = [kind(contract, freq) for kind in TableRule.table if kind.applies(contract)]
    for name, spec in contract.columns.items():
        present = name in df.columns
        rules.extend(
            kind(contract, freq, name) for kind in ColumnRule.per_column if kind.applies(spec, present)
        )
    if has_time_keys(df):
        rules.extend(kind(contract, freq) for kind in SeriesRule.per_series if kind.applies(contract))
    return rules


def with_helpers(df: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """``df`` with the helper column of each rule that needs one (a copy; ``df`` is untouched)."""
    needing = [rule for rule in rules if rule.helper]
    if not needing:
        return df
    frame = df.copy()
    for rule in needing:
        frame[rule.helper] = rule.derive(df)
    return frame
