"""The Streamlit portal: forecasts and model health for people. It talks to the API only."""
