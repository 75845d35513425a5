from django.conf import settings
from django.urls import translate_url


def site(request):
    path = request.get_full_path() if request.method == "GET" else request.path
    return {
        "controller_name": settings.TRUSTCENTER_CONTROLLER_NAME,
        "privacy_email": settings.TRUSTCENTER_PRIVACY_EMAIL,
        "postal_address": settings.TRUSTCENTER_POSTAL_ADDRESS,
        "language_links": [(code, name, translate_url(path, code)) for code, name in settings.LANGUAGES],
    }
