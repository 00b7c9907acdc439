"""Log in with a username and password; the API issues the token."""

import streamlit as st

from portal import theme
from portal.api_client import ApiRejected, ApiUnavailable
from portal.state import api_url, browser_address, client

theme.header("Welcome to AstralytiQ", "Forecasts and model health for your time series.")
if notice := st.session_state.pop("notice", None):
    st.info(notice, icon=":material/schedule:")

with st.form("login", border=True):
    username = st.text_input("Username", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary", width="stretch")

if submitted:
    if not username or not password:
        st.warning("Enter a username and a password.")
    else:
        try:
            st.session_state["session"] = client().login(username, password, browser_address())
        except ApiRejected as exc:
            st.error(str(exc))
        except ApiUnavailable as exc:
            st.error(f"{exc} Is the API running at {api_url()}?")
        else:
            st.rerun()
