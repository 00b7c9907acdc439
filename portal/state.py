"""Session state of one portal visitor: the API session and a client bound to it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import streamlit as st

from portal.api_client import ApiClient, Session


def api_url() -> str:
    return os.environ.get("ASTRALYTIQ_API_URL", "http://127.0.0.1:8000")


def current_session() -> Session | None:
    session: Session | None = st.session_state.get("session")
    if session is not None and session.expires_at <= datetime.now(UTC):
        st.session_state.pop("session", None)
        st.session_state["notice"] = "Your session expired. Please log in again."
        return None
    return session


def client() -> ApiClient:
    session = current_session()
    return ApiClient(api_url(), session.token if session else None)


def log_out(reason: str | None = None) -> None:
    st.session_state.pop("session", None)
    if reason:
        st.session_state["notice"] = reason
