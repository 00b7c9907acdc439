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
              radial-gradient(700px 420px at 50% 120%, #fae8ff 0%, transparent 60%),
              linear-gradient(180deg, #f8fafc 0%, #eef2f7 100%);
  background-attachment: fixed;
  color: {INK};
}}
[data-testid="stHeader"] {{ background: transparent; }}
[data-testid="stSidebar"] > div:first-child {{
  background: rgba(255, 255, 255, 0.55);
  backdrop-filter: blur(14px);
  -webkit-backdrop-filter: blur(14px);
  border-right: 1px solid rgba(148, 163, 184, 0.25);
}}
/* Glass cards: metrics, bordered containers, forms, expanders, tables and charts. */
div[data-testid="stMetric"], div[data-testid="stVerticalBlockBorderWrapper"], div[data-testid="stForm"],
div[data-testid="stExpander"] details, div[data-testid="stPlotlyChart"] {{
  background: rgba(255, 255, 255, 0.62);
  backdrop-filter: blur(12px);
  -webkit-backdrop-filter: blur(12px);
  border: 1px solid rgba(255, 255, 255, 0.75);
  border-radius: 14px;
  box-shadow: 0 4px 24px rgba(15, 23, 42, 0.06);
}}
div[data-testid="stMetric"] {{ padding: 0.8rem 1rem; }}
div[data-testid="stPlotlyChart"] {{ padding: 0.4rem; }}
div[data-testid="stMetricValue"] {{ color: {INK}; font-weight: 650; }}
div[data-testid="stMetricLabel"] p {{ color: {MUTED}; font-size: 0.85rem; }}
.stTabs [data-baseweb="tab-list"] {{ gap: 0.3rem; }}
.stTabs [data-baseweb="tab"] {{
  background: rgba(255, 255, 255, 0.45); border-radius: 10px 10px 0 0; padding: 0.3rem 0.9rem;
}}
.stTabs [aria-selected="true"] {{ background: {ACCENT_SOFTER}; }}
h1, h2, h3 {{ color: {INK}; letter-spacing: -0.01em; }}
.aq-table-wrap {{
  max-height: 420px; overflow: auto; border-radius: 14px;
  background: rgba(255, 255, 255, 0.62); backdrop-filter: blur(12px); -webkit-backdrop-filter: blur(12px);
  border: 1px solid rgba(255, 255, 255, 0.75); box-shadow: 0 4px 24px rgba(15, 23, 42, 0.06);
  margin-bottom: 1rem;
}}
table.aq-table {{ width: 100%; border-collapse: collapse; font-size: 0.88rem; margin: 0; }}
table.aq-table th {{
  position: sticky; top: 0; background: rgba(241, 245, 249, 0.92); color: {MUTED};
  font-weight: 600; text-align: left; padding: 0.45rem 0.7rem; border: none;
  border-bottom: 1px solid rgba(148, 163, 184, 0.35); white-space: nowrap;
}}
table.aq-table td {{
  padding: 0.4rem 0.7rem; border: none; border-bottom: 1px solid rgba(148, 163, 184, 0.15);
  font-variant-numeric: tabular-nums;
}}
table.aq-table tr:hover td {{ background: {ACCENT_SOFTER}; }}
.aq-none {{ color: #cbd5e1; }}
.aq-badge {{
  display: inline-block; padding: 0.05rem 0.55rem; border-radius: 999px; font-size: 0.78rem;
  font-weight: 600; letter-spacing: 0.02em;
}}
.aq-ok {{ background: rgba(5, 150, 105, 0.14); color: {OK}; }}
.aq-bad {{ background: rgba(220, 38, 38, 0.12); color: #b91c1c; }}
.aq-busy {{ background: {ACCENT_SOFTER}; color: {ACCENT}; }}
.aq-warn {{ background: rgba(217, 119, 6, 0.14); color: #b45309; }}
.aq-muted {{ background: rgba(100, 116, 139, 0.12); color: {MUTED}; }}
.aq-caption {{ color: {MUTED}; font-size: 0.92rem; margin-top: -0.6rem; margin-bottom: 1rem; }}
.aq-brand {{
  font-weight: 700; font-size: 1.15rem;
  background: linear-gradient(90deg, {ACCENT}, #0891b2); -webkit-background-clip: text;
  background-clip: text; color: transparent;
}}
/* Laptop and tablet widths: rows of four metrics wrap to two per line instead of squeezing. */
@media (max-width: 1100px) {{
  .block-container {{ padding-left: 1.2rem; padding-right: 1.2rem; }}
  div[data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; gap: 0.6rem; }}
  div[data-testid="stHorizontalBlock"] > div[data-testid="stColumn"] {{
    min-width: calc(50% - 0.6rem); flex: 1 1 calc(50% - 0.6rem);
  }}
}}
@media (max-width: 640px) {{
  div[data-testid="stHorizontalBlock"] > div[data-testid="stColumn"] {{ min-width: 100%; }}
}}
</style>
"""


def apply() -> None:
    st.markdown(CSS, unsafe_allow_html=True)


def header(title: str, caption: str) -> None:
    st.title(title)
    st.markdown(f'<div class="aq-caption">{caption}</div>', unsafe_allow_html=True)
