"""/<lang>/cookies/: the portal's cookie banner and settings, without JavaScript."""

app_name = "cookies"
urlpatterns: list = []
