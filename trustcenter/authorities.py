"""The supervisory authorities of the group's countries (DESIGN.md §1): where a person complains."""

from django.utils.translation import gettext_lazy

SUPERVISORY_AUTHORITIES = {
    "norway": {
        "country": gettext_lazy("Norway"),
        "name": "Datatilsynet",
        "url": "https://www.datatilsynet.no/",
        "site": "datatilsynet.no",
    },
    "sweden": {
        "country": gettext_lazy("Sweden"),
        "name": "Integritetsskyddsmyndigheten (IMY)",
        "url": "https://www.imy.se/",
        "site": "imy.se",
    },
    "denmark": {
        "country": gettext_lazy("Denmark"),
        "name": "Datatilsynet",
        "url": "https://www.datatilsynet.dk/",
        "site": "datatilsynet.dk",
    },
}
