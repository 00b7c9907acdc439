"""The model registry (MLflow): every call to it, and the names of its aliases.

Importing this package loads nothing: ``rest`` (the API's standard-library client) must stay
free of ``mlflow`` and pandas, while ``tracking``, ``registration`` and ``flavor`` use them.
"""
