"""Untrusted text on the board: model names, run ids, split names, descriptions, citations,
study ids and warnings come from files anyone can write. Streamlit renders Markdown in most
places (``st.markdown``, captions, alerts, image captions, radio options, metric labels, help
tooltips), so ``![](http://...)`` would fetch a remote image and ``[x](http://...)`` would be a
link. :func:`md_escape` makes such text literal; the views pass every untrusted string through
it (or show it in a dataframe cell, ``st.text`` or ``st.json``, which render no Markdown).
"""

from __future__ import annotations

import re
from typing import Any

MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:@&=\"'^%])")
# Streamlit autolinks http://, www. and e-mail addresses even when their punctuation is escaped:
# a zero-width space after ":" and "@" and inside "www." breaks every such pattern (invisible)
ZWSP = "\u200b"
AUTOLINK_BREAK = re.compile(r"(?<=[:@])|(?<=www)(?=\.)", re.IGNORECASE)
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "↑": r"$\uparrow$", "↓": r"$\downarrow$", "Δ": r"$\Delta$", "−": r"$-$", "·": r"$\cdot$",
                 "–": "--", "±": r"$\pm$", "α": r"$\alpha$"}  # fmt: skip


def md_escape(text: Any) -> str:
    """Untrusted text as literal Markdown: every ASCII punctuation character Markdown or
    Streamlit's extensions read (links, images, HTML, ``:colour[...]``, ``$math$``, emoji
    shortcodes, autolinked ``http://`` and ``www.``) is backslash-escaped, and runs of
    whitespace (newlines included) become one space, so the text renders as itself on one line.
    A zero-width space follows every ``:`` and ``@`` and sits inside ``www.``: Streamlit would
    otherwise still turn ``http://...``, ``www....`` and e-mail addresses into links."""
    flat = " ".join(str(text).split())
    return MD_SPECIAL.sub(r"\\\1", AUTOLINK_BREAK.sub(ZWSP, flat))


def latex_escape(text: Any) -> str:
    """Untrusted text as literal LaTeX (the non-ASCII symbols the board uses become math)."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in " ".join(str(text).split()))
