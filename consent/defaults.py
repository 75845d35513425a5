"""The purposes of DESIGN.md §1 with their first wording in every site language (admins publish
new versions in the admin). Used by a data migration: changing this file changes no database."""

DEFAULT_PURPOSES: dict[str, dict] = {
    "newsletter": {
        "fresh": False,
        "en": ("Newsletter", "Send me the group's newsletter by e-mail. I can unsubscribe at any time."),
        "nb": ("Nyhetsbrev", "Send meg konsernets nyhetsbrev på e-post. Jeg kan melde meg av når som helst."),
        "sv": (
            "Nyhetsbrev",
            "Skicka koncernens nyhetsbrev till mig via e-post. Jag kan avsluta prenumerationen när som helst.",
        ),
        "da": ("Nyhedsbrev", "Send mig koncernens nyhedsbrev på e-mail. Jeg kan framelde mig når som helst."),
    },
    "marketing_email": {
        "fresh": True,
        "en": ("Marketing e-mail", "Send me offers and news about the group's services by e-mail."),
        "nb": ("Markedsføring på e-post", "Send meg tilbud og nyheter om konsernets tjenester på e-post."),
        "sv": (
            "Marknadsföring via e-post",
            "Skicka erbjudanden och nyheter om koncernens tjänster till mig via e-post.",
        ),
        "da": ("Markedsføring på e-mail", "Send mig tilbud og nyheder om koncernens tjenester på e-mail."),
    },
    "event_followup": {
        "fresh": True,
        "en": (
            "Future events",
            "Keep my registration after the event, so that I can be invited to later courses and events.",
        ),
        "nb": (
            "Fremtidige arrangementer",
            "Ta vare på påmeldingen min etter arrangementet, slik at jeg kan inviteres til senere kurs og arrangementer.",
        ),
        "sv": (
            "Kommande evenemang",
            "Spara min anmälan efter evenemanget, så att jag kan bjudas in till senare kurser och evenemang.",
        ),
        "da": (
            "Fremtidige arrangementer",
            "Gem min tilmelding efter arrangementet, så jeg kan inviteres til senere kurser og arrangementer.",
        ),
    },
    "lead_registration": {
        "fresh": True,
        "en": (
            "Kept as a prospect",
            "Keep my contact details so that the group can contact me about its services.",
        ),
        "nb": (
            "Lagret som mulig kunde",
            "Ta vare på kontaktopplysningene mine, slik at konsernet kan kontakte meg om tjenestene sine.",
        ),
        "sv": (
            "Sparad som möjlig kund",
            "Spara mina kontaktuppgifter så att koncernen kan kontakta mig om sina tjänster.",
        ),
        "da": (
            "Gemt som mulig kunde",
            "Gem mine kontaktoplysninger, så koncernen kan kontakte mig om sine tjenester.",
        ),
    },
    "recruitment_database": {
        "fresh": True,
        "en": (
            "Recruitment database",
            "Keep my open application and CV for 360 days so that I can be offered suitable positions. I am asked to renew before then.",
        ),
        "nb": (
            "Rekrutteringsdatabase",
            "Ta vare på den åpne søknaden og CV-en min i 360 dager, slik at jeg kan få tilbud om passende stillinger. Jeg blir bedt om å fornye før det.",
        ),
        "sv": (
            "Rekryteringsdatabas",
            "Spara min öppna ansökan och mitt cv i 360 dagar så att jag kan erbjudas passande tjänster. Jag ombeds förnya före dess.",
        ),
        "da": (
            "Rekrutteringsdatabase",
            "Gem min uopfordrede ansøgning og mit CV i 360 dage, så jeg kan tilbydes passende stillinger. Jeg bliver bedt om at forny inden da.",
        ),
    },
    "cookies_functional": {
        "fresh": False,
        "en": ("Functional cookies", "Remember my choices on the site, such as my language."),
        "nb": ("Funksjonelle informasjonskapsler", "Husk valgene mine på nettstedet, for eksempel språket."),
        "sv": ("Funktionella kakor", "Kom ihåg mina val på webbplatsen, till exempel språket."),
        "da": ("Funktionelle cookies", "Husk mine valg på webstedet, for eksempel sproget."),
    },
    "cookies_analytics": {
        "fresh": False,
        "en": ("Analytics cookies", "Count visits and how the site is used, so that it can be improved."),
        "nb": (
            "Analyseinformasjonskapsler",
            "Tell besøk og hvordan nettstedet brukes, slik at det kan forbedres.",
        ),
        "sv": ("Analyskakor", "Räkna besök och hur webbplatsen används, så att den kan förbättras."),
        "da": ("Statistikcookies", "Tæl besøg og hvordan webstedet bruges, så det kan forbedres."),
    },
    "cookies_marketing": {
        "fresh": False,
        "en": ("Marketing cookies", "Show me advertising for the group's services on other sites."),
        "nb": (
            "Markedsføringsinformasjonskapsler",
            "Vis meg reklame for konsernets tjenester på andre nettsteder.",
        ),
        "sv": ("Marknadsföringskakor", "Visa mig reklam för koncernens tjänster på andra webbplatser."),
        "da": ("Marketingcookies", "Vis mig reklame for koncernens tjenester på andre websteder."),
    },
}


def ensure_default_purposes() -> None:
    """The purposes above with their first version where a purpose is missing (a fresh database,
    or one a test emptied); what admins published stays as it is."""
    from django.db import transaction

    from .models import ConsentPurpose, PurposeVersion, PurposeWording

    with transaction.atomic():
        for slug, default in DEFAULT_PURPOSES.items():
            purpose, created = ConsentPurpose.objects.get_or_create(
                slug=slug, defaults={"new_versions_need_fresh_consent": default["fresh"]}
            )
            if created:
                version = PurposeVersion.objects.create(purpose=purpose, number=1)
                PurposeWording.objects.bulk_create(
                    PurposeWording(
                        version=version,
                        language=language,
                        title=default[language][0],
                        text=default[language][1],
                    )
                    for language in ("en", "nb", "sv", "da")
                )
