"""Forecasting spend: history from the store, the model, the run and its what-ifs."""
