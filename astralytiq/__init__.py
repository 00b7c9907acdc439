"""The kernel: settings, the app database and its migrations, accounts, API keys, the audit log.

Everything else builds on it; it imports nothing of the platform above it (tests/unit/test_layering.py).
"""
