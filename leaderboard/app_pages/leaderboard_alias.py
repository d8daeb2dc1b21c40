"""``/leaderboard``: the leaderboard page under its own URL (the default page is served at "/")."""

from lcad_bench.leaderboard import views

views.page_leaderboard()
