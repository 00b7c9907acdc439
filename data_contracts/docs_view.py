"""GX Data Docs views that escape the data they show.

GX's Jinja views escape the parameters of string templates, but a table cell or list item that
is a plain string (an unexpected value such as a series id, a run name) is written into the
page as it is: a series id like ``</span><script>...`` would run as script in the Data Docs.
Every plain string reaching ``render_content_block`` is text (the markup GX means comes as
content blocks and string templates), so these views escape it. The contract's site config
(``data_contracts.validation``) names them for the validation pages and the index.
"""

from __future__ import annotations

import html
from typing import Any

from great_expectations.render.components import RenderedComponentContent
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import pass_context


def _is_block(value: Any) -> bool:
    return isinstance(value, RenderedComponentContent) or (
        isinstance(value, dict) and "content_block_type" in value
    )


class _EscapesText:
    @pass_context  # a Jinja filter that takes the template's context, as GX's own is
    def render_content_block(
        self,
        jinja_context: Any,
        content_block: Any,
        index: Any = None,
        content_block_id: Any = None,
        render_to_markdown: bool = False,
    ) -> Any:
        if not render_to_markdown:
            if isinstance(content_block, str):
                return html.escape(content_block)
            if isinstance(content_block, list):
                content_block = [
                    item if _is_block(item) else html.escape(str(item)) for item in content_block
                ]
        return super().render_content_block(  # type: ignore[misc]
            jinja_context, content_block, index, content_block_id, render_to_markdown
        )


class EscapingPageView(_EscapesText, DefaultJinjaPageView):
    """A validation page whose data values are text, never markup."""


class EscapingIndexPageView(_EscapesText, DefaultJinjaIndexPageView):
    """The Data Docs index, with run and asset names as text."""


VIEWS = {"module_name": __name__}
SITE_SECTIONS: dict[str, Any] = {
    "expectations": "0",  # the suite's own page repeats what each validation page shows
    "profiling": "0",
    "validations": {"view": {**VIEWS, "class_name": EscapingPageView.__name__}},
}
SITE_INDEX: dict[str, Any] = {
    "class_name": "DefaultSiteIndexBuilder",
    "view": {**VIEWS, "class_name": EscapingIndexPageView.__name__},
}
