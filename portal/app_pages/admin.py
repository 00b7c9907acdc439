"""Administration: the people who log in, and the API keys services use."""

import streamlit as st

from portal import tables, theme
from portal.guard import call
from portal.state import client, require

ROLES = ["viewer", "engineer", "admin"]

session = require("admin")
theme.header("Users and API keys", "Who may log in, and which services may ask for forecasts.")
api = client()
if flash := st.session_state.pop("admin_flash", None):
    st.success(flash, icon=":material/check_circle:")
users_tab, keys_tab = st.tabs(["Users", "API keys"])

with users_tab:
    users = call(api.users) or []
    tables.table("users", users, formats={"created_at": tables.timestamp})
    left, right = st.columns(2)
    with left, st.form("new_user", clear_on_submit=True):
        st.markdown("**Add a person**")
        username = st.text_input("Username")
        password = st.text_input("Password", type="password", help="8 characters or more.")
        role = st.selectbox("Role", ROLES)
        if st.form_submit_button("Add", type="primary"):
            created = call(lambda: api.create_user(username.strip(), password, role))
            if created:
                st.session_state["admin_flash"] = f"{created['username']} can log in as {created['role']}."
                st.rerun()
    others = [u["username"] for u in users if u["username"].lower() != session.username.lower()]
    with right, st.form("change_user"):
        st.markdown("**Change a person**")
        who = st.selectbox("User", others)
        new_role = st.selectbox("Role", ["unchanged", *ROLES])
        access = st.radio("Access", ["unchanged", "enabled", "disabled"], horizontal=True)
        if st.form_submit_button("Save", disabled=not others) and who:
            changed = call(
                lambda: api.update_user(
                    who,
                    role=None if new_role == "unchanged" else new_role,
                    active=None if access == "unchanged" else access == "enabled",
                )
            )
            if changed:
                state = "enabled" if changed["active"] else "disabled"
                st.session_state["admin_flash"] = f"{changed['username']}: {changed['role']}, {state}."
                st.rerun()
    with st.form("reset_password", clear_on_submit=True):
        st.markdown("**Reset a password** (for someone who forgot theirs; their sessions end)")
        whose = st.selectbox("User", [u["username"] for u in users], key="reset_who")
        new_password = st.text_input(
            "New password", type="password", help="8 characters to 72 bytes, no control characters."
        )
        if st.form_submit_button("Reset password", disabled=not users) and whose:
            reset = call(lambda: api.reset_password(whose, new_password))
            if reset:
                st.session_state["admin_flash"] = (
                    f"{reset['username']} has a new password; tell them in person."
                )
                st.rerun()

with keys_tab:
    if issued := st.session_state.pop("issued_key", None):
        st.warning("Copy the key now: it is shown only once.", icon=":material/key:")
        st.code(issued, language=None)
    keys = call(api.api_keys) or []
    if keys:
        tables.table(
            "keys",
            keys,
            columns=[
                "id",
                "name",
                "prefix",
                "role",
                "models",
                "created_at",
                "last_used_at",
                "expires_at",
                "active",
            ],
            formats={c: tables.timestamp for c in ("created_at", "last_used_at", "expires_at")},
        )
    else:
        st.caption("No API keys yet.")
    left, right = st.columns(2)
    with left, st.form("new_key", clear_on_submit=True):
        st.markdown("**Issue a key**")
        name = st.text_input("Service name")
        key_role = st.selectbox("Role", ["viewer", "engineer"])
        scope = st.text_input("Models (comma-separated; empty: every model)")
        days = st.number_input("Expires after (days; 0: never)", min_value=0, max_value=3650, value=90)
        if st.form_submit_button("Issue", type="primary"):
            models = [m.strip() for m in scope.split(",") if m.strip()]
            key = call(lambda: api.issue_api_key(name.strip(), key_role, models, int(days) or None))
            if key:
                st.session_state["issued_key"] = key["key"]
                st.session_state["admin_flash"] = f"Key {key['prefix']}… issued to {key['name']}."
                st.rerun()
    active = {k["id"]: f"{k['name']} ({k['prefix']}…)" for k in keys if k["active"]}
    with right, st.form("revoke_key"):
        st.markdown("**Revoke a key**")
        key_id = st.selectbox("Key", list(active), format_func=lambda i: active[i])
        if st.form_submit_button("Revoke", disabled=not active) and key_id is not None:
            revoked = call(lambda: api.revoke_api_key(key_id))
            if revoked:
                st.session_state["admin_flash"] = f"Key {revoked['prefix']}… of {revoked['name']} is revoked."
                st.rerun()
