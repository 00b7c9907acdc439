"""Model health: drift of new actuals against the training window, kept as history."""
