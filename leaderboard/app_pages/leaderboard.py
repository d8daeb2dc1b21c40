"""Page script of the leaderboard app (see lcad_bench.leaderboard.views.page_leaderboard)."""

from lcad_bench.leaderboard import views

views.page_leaderboard()
