"""Your account: change your own password (every other session of yours ends)."""

import streamlit as st

from portal import theme
from portal.guard import call
from portal.state import client, require

session = require("viewer")
theme.header("Your account", f"Signed in as {session.username} ({session.role}).")
if flash := st.session_state.pop("account_flash", None):
    st.success(flash, icon=":material/check_circle:")

with st.form("change_password", clear_on_submit=True):
    st.markdown("**Change your password**")
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input(
        "New password",
        type="password",
        autocomplete="new-password",
        help="8 characters to 72 bytes, no control characters.",
    )
    again = st.text_input("New password again", type="password", autocomplete="new-password")
    if st.form_submit_button("Change password", type="primary"):
        if new != again:
            st.warning("The two new passwords differ; type the same one twice.")
        elif not current or not new:
            st.warning("Enter your current password and a new one.")
        else:
            fresh = call(lambda: client().change_password(session.username, current, new))
            if fresh is not None:
                st.session_state["session"] = fresh  # the old token no longer works
                st.session_state["account_flash"] = "Password changed; your other sessions have ended."
                st.rerun()
