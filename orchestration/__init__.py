"""The Prefect server as the platform reaches it over HTTP: trigger, follow and list flow runs."""
