"""/<lang>/join/: sign-ups with double opt-in (the newsletter, the recruitment database)."""

app_name = "signup"
urlpatterns: list = []
