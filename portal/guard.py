"""Turn API trouble into plain words on the page instead of a stack trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from portal.api_client import ApiRejected, ApiUnavailable, ApiUnreachable, RouteMissing, SessionExpired
from portal.state import api_url, log_out

T = TypeVar("T")


def call(fn: Callable[[], T], feature: str | None = None) -> T | None:
    """Run an API call; on failure show why and return None (or send the visitor to log in).

    ``feature`` names what the call is for, so a route the API does not have yet reads as
    "<feature> is not available on this server" rather than an error.
    """
    try:
        return fn()
    except SessionExpired as exc:
        log_out(str(exc))
        st.rerun()
    except ApiUnreachable as exc:
        # Nothing else on the page can work either: say it once and stop.
        st.error(f"{exc} The page will work again once the API is back.", icon=":material/cloud_off:")
        st.stop()
    except ApiUnavailable as exc:
        st.error(str(exc), icon=":material/error:")
    except RouteMissing as exc:
        what = feature or "This feature"
        st.info(
            f"{what} is not available on this server: the API at {api_url()} has no `{exc}` "
            "route yet (a newer API version adds it).",
            icon=":material/extension_off:",
        )
    except ApiRejected as exc:
        st.warning(str(exc), icon=":material/info:")
    return None
