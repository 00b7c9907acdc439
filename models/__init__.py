"""The forecasting engine: a pure core (DataFrames in, DataFrames and dataclasses out).

Nothing here imports Prefect, FastAPI or Streamlit; flows, the API and the portal call in.
"""
