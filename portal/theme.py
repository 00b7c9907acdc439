"""The portal's look: a calm, light 'glass' theme (translucent cards over a soft gradient)."""

from __future__ import annotations

import streamlit as st

ACCENT = "#4f46e5"
ACCENT_SOFT = "rgba(79, 70, 229, 0.18)"
ACCENT_SOFTER = "rgba(79, 70, 229, 0.10)"
INK = "#1e293b"
MUTED = "#64748b"
WARN = "#d97706"
OK = "#059669"

CSS = f"""
<style>
.stApp {{
  background: radial-gradient(1200px 600px at 10% -10%, #e0e7ff 0%, transparent 60%),
              radial-gradient(900px 500px at 110% 10%, #dcfce7 0%, transparent 55%),
              linear-gradient(180deg, #f8fafc 0%, #eef2f7 100%);
  color: {INK};
}}
[data-testid="stSidebar"] > div:first-child {{
  background: rgba(255, 255, 255, 0.55);
  backdrop-filter: blur(14px);
  border-right: 1px solid rgba(148, 163, 184, 0.25);
}}
div[data-testid="stMetric"], div[data-testid="stVerticalBlockBorderWrapper"] {{
  background: rgba(255, 255, 255, 0.62);
  backdrop-filter: blur(12px);
  -webkit-backdrop-filter: blur(12px);
  border: 1px solid rgba(255, 255, 255, 0.7);
  border-radius: 14px;
  box-shadow: 0 4px 24px rgba(15, 23, 42, 0.06);
}}
div[data-testid="stMetric"] {{ padding: 0.8rem 1rem; }}
h1, h2, h3 {{ color: {INK}; letter-spacing: -0.01em; }}
.aq-caption {{ color: {MUTED}; font-size: 0.92rem; margin-top: -0.6rem; margin-bottom: 1rem; }}
.aq-brand {{ font-weight: 700; font-size: 1.15rem; color: {ACCENT}; }}
@media (max-width: 900px) {{
  .block-container {{ padding-left: 1rem; padding-right: 1rem; }}
}}
</style>
"""


def apply() -> None:
    st.markdown(CSS, unsafe_allow_html=True)


def header(title: str, caption: str) -> None:
    st.title(title)
    st.markdown(f'<div class="aq-caption">{caption}</div>', unsafe_allow_html=True)
