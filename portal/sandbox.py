"""HTML reports (Evidently, GX Data Docs) shown in the portal inside a sandbox of their own.

``st.iframe(html)`` puts the HTML in a ``srcdoc`` frame that Streamlit allows scripts *and* the
portal's origin: a script in a report (a series id that slipped past escaping) could then act as
whoever is looking, an admin included. The API serves these reports with a sandboxing CSP, but
that header is lost once the portal embeds their text. So the frame Streamlit makes holds only
this wrapper, which embeds the report in a frame of its own, sandboxed without
``allow-same-origin``: the report runs in an opaque origin, and a policy written into it keeps it
off the network.
"""

from __future__ import annotations

import html
import re

# What the report may do inside its frame: run its own scripts (the charts), open links in a new
# tab (Data Docs); not reach the portal's origin, its storage or the top window.
SANDBOX = "allow-scripts allow-popups"
# Inline scripts and styles only, data: fonts and images; no fetch, no form, no network.
REPORT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
# GX Data Docs take their styles, scripts and fonts from CDNs; still no fetch, form or <base>.
DOCS_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' https:; style-src 'unsafe-inline' https:; "
    "img-src https: data:; font-src https: data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)


def with_policy(document: str, policy: str = REPORT_POLICY) -> str:
    """``document`` with a Content-Security-Policy meta tag first in its head."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
    match = _HEAD.search(document)
    if match is None:
        return meta + document
    return document[: match.end()] + meta + document[match.end() :]


def sandboxed(document: str, policy: str = REPORT_POLICY) -> str:
    """A page holding ``document`` in a sandboxed frame (opaque origin), filling the page."""
    inner = html.escape(with_policy(document, policy), quote=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        "<style>html,body{margin:0;height:100%;overflow:hidden}"
        "iframe{border:0;width:100%;height:100%;display:block}</style></head>"
        f'<body><iframe sandbox="{SANDBOX}" referrerpolicy="no-referrer" srcdoc="{inner}"></iframe></body></html>'
    )
