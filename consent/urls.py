"""/<lang>/consent/: the self-service page and consent receipts."""

app_name = "consent"
urlpatterns: list = []
