"""Session state of one portal visitor: the API session and a client bound to it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import streamlit as st

from portal.api_client import ApiClient, Session


def api_url() -> str:
    return os.environ.get("ASTRALYTIQ_API_URL", "http://127.0.0.1:8000")


def browser_address() -> str | None:
    """The visitor's IP address, for the API's per-person login throttle. None when the browser
    is on this machine (Streamlit reports no address for loopback), and outside a real browser
    connection (AppTest's stand-in context is not a string)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def current_session() -> Session | None:
    session: Session | None = st.session_state.get("session")
    if session is not None and session.expires_at <= datetime.now(UTC):
        log_out("Your session expired. Please log in again.")
        return None
    return session


def client() -> ApiClient:
    """The visitor's client, kept across reruns so its connections are reused."""
    session = current_session()
    key = (api_url(), session.token if session else None)
    cached: tuple[tuple[str, str | None], ApiClient] | None = st.session_state.get("api_client")
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        cached[1].close()
    fresh = ApiClient(key[0], key[1])
    st.session_state["api_client"] = (key, fresh)
    return fresh


def require(role: str = "viewer") -> Session:
    """Stop the page unless someone with at least ``role`` is logged in; say why it stopped."""
    session = current_session()
    if session is None:
        st.info(st.session_state.get("notice") or "Please log in to see this page.", icon=":material/lock:")
        st.stop()
    if not session.can(role):
        st.warning(f"This page needs the {role} role; you are signed in as {session.role}.")
        st.stop()
    return session


def log_out(reason: str | None = None) -> None:
    st.session_state.pop("session", None)
    if reason:
        st.session_state["notice"] = reason
