"""The portal's own web site and cookie inventory (issue 12, point 8): its banner offers only
what this inventory uses. consent.cookies.ensure_portal_site makes the same again where a test
emptied the database."""

from django.conf import settings
from django.db import migrations

from consent.cookies import make_portal_site, portal_origin


def add_portal_inventory(apps, schema_editor):
    make_portal_site(
        site_model=apps.get_model("consent", "CookieSite"),
        cookie_model=apps.get_model("consent", "Cookie"),
        origin=portal_origin(settings.TRUSTCENTER_SITE_URL),
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0010_state_from_the_ledger")]

    operations = [migrations.RunPython(add_portal_inventory, migrations.RunPython.noop)]
