"""Security headers of every API answer, and the sandbox of the HTML reports it serves.

JSON answers may not be framed, sniffed as another type or sent with a referrer. The two kinds
of HTML the API serves hold data from users (series ids, column names) and run scripts, so they
carry a sandboxing Content-Security-Policy: a browser runs them in an origin of their own
(without ``allow-same-origin``), where a script that slipped past the escaping can read nothing
of the API's origin, and (for the self-contained Evidently report) can reach no server at all.
"""

from __future__ import annotations

_NEVER_FRAMED_OR_POSTED = "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

# Evidently's report is one self-contained file: inline script (its bundle uses eval), inline
# styles, a data: font, and nothing from the network.
REPORT_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    f"style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'; {_NEVER_FRAMED_OR_POSTED}"
)
# GX Data Docs open their other pages (same folder) and take scripts, styles and fonts from CDNs.
DOCS_POLICY = (
    "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'unsafe-inline' https:; "
    "style-src 'unsafe-inline' https:; img-src https: data:; font-src https: data:; connect-src 'none'; "
    f"{_NEVER_FRAMED_OR_POSTED}"
)
# FastAPI's /docs (Swagger UI) and /redoc load their bundles from jsDelivr and read /openapi.json.
API_DOCS_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    f"connect-src 'self'; worker-src blob:; {_NEVER_FRAMED_OR_POSTED}"
)
# Everything else is JSON (or Prometheus text): nothing in it is ever run or shown as a page.
API_POLICY = f"default-src 'none'; {_NEVER_FRAMED_OR_POSTED}"

REPORT_HEADERS = {"Content-Security-Policy": REPORT_POLICY, "Cache-Control": "private, no-cache"}
DOCS_HEADERS = {"Content-Security-Policy": DOCS_POLICY, "Cache-Control": "private, no-cache"}
# Answers that carry a secret (a token, a new API key): never stored by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_CSP = b"content-security-policy"
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_API_DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")


_ALWAYS_NAMES = {name for name, _ in _ALWAYS}
_API_POLICY_HEADER = (_CSP, API_POLICY.encode())


def add_to(headers: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """``headers`` of a response to ``path`` with the security headers it lacks."""
    names = {name.lower() for name, _ in headers}
    if _CSP not in names and names.isdisjoint(_ALWAYS_NAMES) and path not in _API_DOCS_PATHS:
        return headers + _ALWAYS + [_API_POLICY_HEADER]  # the common case: a JSON answer
    extra = [(name, value) for name, value in _ALWAYS if name not in names]
    if _CSP not in names:
        policy = API_DOCS_POLICY if path in _API_DOCS_PATHS else API_POLICY
        extra.append((_CSP, policy.encode()))
    return headers + extra if extra else headers


# The same, as OpenAPI documents a response's headers.
NO_STORE_DOC = {name: {"schema": {"type": "string", "enum": [value]}} for name, value in NO_STORE.items()}
