from django.conf import settings
from django.urls import translate_url


def site(request):
    path = request.get_full_path() if request.method == "GET" else request.path

    def language_links():
        # Called by the template only where it shows the switcher (not on the receipt page).
        return [(code, name, translate_url(path, code)) for code, name in settings.LANGUAGES]

    return {
        "controller_name": settings.TRUSTCENTER_CONTROLLER_NAME,
        "privacy_email": settings.TRUSTCENTER_PRIVACY_EMAIL,
        "postal_address": settings.TRUSTCENTER_POSTAL_ADDRESS,
        "language_links": language_links,
    }
