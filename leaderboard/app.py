"""The lcad-bench leaderboard (Streamlit).

    lcad-bench leaderboard --board board/
    LCAD_BENCH_LEADERBOARD=board/ streamlit run leaderboard/app.py

Reads only the board folder (``$LCAD_BENCH_LEADERBOARD``) and the run folders its runs.json
names; never imports torch.
"""

from pathlib import Path

import streamlit as st

st.set_page_config(
    page_title="lcad-bench leaderboard", page_icon=":material/palette:", layout="wide"
)

PAGES = (
    Path(__file__).resolve().parent / "app_pages"
)  # not "pages/": that name switches on Streamlit's old page discovery
nav = st.navigation(
    [
        # the default page is served at "/" (its url_path only reserves a name);
        # the hidden alias keeps "/leaderboard" (and links to it) working
        st.Page(
            PAGES / "leaderboard.py",
            title="Leaderboard",
            icon=":material/leaderboard:",
            default=True,
            url_path="home",
        ),
        st.Page(
            PAGES / "leaderboard_alias.py",
            title="Leaderboard",
            url_path="leaderboard",
            visibility="hidden",
        ),
        st.Page(
            PAGES / "levels.py",
            title="Per-level charts",
            icon=":material/trending_down:",
            url_path="levels",
        ),
        st.Page(
            PAGES / "samples.py", title="Sample viewer", icon=":material/image:", url_path="samples"
        ),
        st.Page(
            PAGES / "run_details.py", title="Run details", icon=":material/info:", url_path="run"
        ),
        st.Page(
            PAGES / "study_results.py",
            title="User-study results",
            icon=":material/bar_chart:",
            url_path="study-results",
        ),
        st.Page(
            PAGES / "study.py", title="Run a study", icon=":material/how_to_vote:", url_path="study"
        ),
    ]
)
nav.run()
