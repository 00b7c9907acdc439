"""The prediction API (FastAPI): serves every registered model's champion."""
