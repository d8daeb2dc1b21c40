"""The view in the URL (``st.query_params``), so a link reproduces what its sender saw.

A page calls :func:`init` for each widget before drawing it: the widget's state comes from the
session when it has one, else from the URL, else from the default; a value from the URL is
used only when it is one of the widget's options (a URL is untrusted input). After drawing,
:func:`sync` writes every non-default value back into the URL and drops the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

FLAG_TRUE, FLAG_FALSE = "1", "0"


def get(param: str) -> str | None:
    """The URL's value of ``param`` (the last one when repeated)."""
    v = st.query_params.get(param)
    return v if isinstance(v, str) and v else None


def init(key: str, param: str, options: Sequence[Any], default: Any, multi: bool = False) -> None:
    """Set ``st.session_state[key]`` for a selectbox/radio (``multi``: a multiselect) from the
    session, the URL or ``default``, keeping only values among ``options`` (compared as text)."""
    by_text = {str(o): o for o in options}
    cur = st.session_state.get(key)
    if multi:
        if isinstance(cur, list):
            st.session_state[key] = [by_text[str(v)] for v in cur if str(v) in by_text]
            return
        got = [by_text[v] for v in dict.fromkeys(st.query_params.get_all(param)) if v in by_text]
        st.session_state[key] = got or [o for o in default if str(o) in by_text]
        return
    if cur is not None and str(cur) in by_text:
        return
    v = get(param)
    st.session_state[key] = by_text[v] if v is not None and v in by_text else default


def init_flag(key: str, param: str, default: bool) -> None:
    """A checkbox's state from the session, the URL (``1``/``0``) or ``default``."""
    if isinstance(st.session_state.get(key), bool):
        return
    v = get(param)
    st.session_state[key] = default if v not in (FLAG_TRUE, FLAG_FALSE) else v == FLAG_TRUE


def _text(v: Any) -> str | list[str]:
    if isinstance(v, bool):
        return FLAG_TRUE if v else FLAG_FALSE
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    return str(v)


def sync(values: Mapping[str, tuple[Any, Any]]) -> None:
    """Write ``{param: (value, default)}`` into the URL: non-default values only, nothing else."""
    want: dict[str, str | list[str]] = {}
    for param, (value, default) in values.items():
        if value is None or _text(value) == _text(default) or value == []:
            continue
        want[param] = _text(value)
    have = {k: st.query_params.get_all(k) for k in st.query_params}
    norm = {k: (v if isinstance(v, list) else [v]) for k, v in want.items()}
    if have == norm:
        return
    st.query_params.from_dict(want)
