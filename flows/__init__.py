"""Prefect flows: recipes that compose the core (data_contracts, models, monitoring)."""
