"""The portal as Streamlit serves it (`streamlit run portal/server.py`), with security headers.

Streamlit's server is Starlette; ``st.App`` takes middleware, so every answer of the portal (its
pages, static files, health check) says: never framed by another site (the admin forms cannot be
clickjacked), no type sniffing, no referrer to other sites. Scripts are left to Streamlit's own
bundle: the reports the portal shows run in sandboxed frames (``portal.sandbox``).
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from portal.security_headers import SecurityHeaders

app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(SecurityHeaders)])
