"""Portal entry point: theme, navigation, and who may see which page."""

from datetime import UTC, datetime

import streamlit as st

from portal import theme
from portal.state import current_session, log_out

st.set_page_config(page_title="AstralytiQ", page_icon=":material/insights:", layout="wide")
theme.apply()

session = current_session()
if session is None:
    page = st.navigation([st.Page("app_pages/login.py", title="Log in", icon=":material/login:")])
else:
    with st.sidebar:
        st.markdown('<div class="aq-brand">AstralytiQ</div>', unsafe_allow_html=True)
        st.caption(
            f"Signed in as **{session.username}** ({session.role}) · "
            f"session ends {session.expires_at:%H:%M} UTC"
        )
        minutes_left = (session.expires_at - datetime.now(UTC)).total_seconds() / 60
        if minutes_left < 5:  # say it before a form is lost to an expired token
            st.warning(f"Your session ends in {max(1, round(minutes_left))} min; log in again soon.")
        if st.button("Log out", icon=":material/logout:", width="stretch"):
            log_out("You have logged out.")
            st.rerun()
    sections = {
        "Forecasting": [
            st.Page("app_pages/forecasts.py", title="Forecasts", icon=":material/show_chart:", default=True),
            st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
        ],
        "Operations": [
            st.Page("app_pages/health.py", title="Model health", icon=":material/monitor_heart:"),
            st.Page("app_pages/pipelines.py", title="Pipelines", icon=":material/account_tree:"),
            st.Page("app_pages/datasets.py", title="Datasets", icon=":material/dataset:"),
            st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/rule:"),
        ],
        "Account": [st.Page("app_pages/account.py", title="Your account", icon=":material/person:")],
    }
    if session.can("admin"):  # the API refuses the others anyway; the menu just does not offer it
        sections["Administration"] = [
            st.Page("app_pages/admin.py", title="Users and keys", icon=":material/admin_panel_settings:")
        ]
    page = st.navigation(sections)
page.run()
