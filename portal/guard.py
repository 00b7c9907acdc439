"""Turn API trouble into plain words on the page instead of a stack trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from portal.api_client import ApiRejected, ApiUnavailable, SessionExpired
from portal.state import log_out

T = TypeVar("T")


def call(fn: Callable[[], T]) -> T | None:
    """Run an API call; on failure show why and return None (or send the visitor to log in)."""
    try:
        return fn()
    except SessionExpired as exc:
        log_out(str(exc))
        st.rerun()
    except ApiUnavailable as exc:
        st.error(f"{exc} The page will work again once the API is back.", icon=":material/cloud_off:")
    except ApiRejected as exc:
        st.warning(str(exc), icon=":material/info:")
    return None
