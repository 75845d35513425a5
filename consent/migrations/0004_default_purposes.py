from django.db import migrations

from consent.defaults import DEFAULT_PURPOSES

LANGUAGES = ("en", "nb", "sv", "da")


def add_purposes(apps, schema_editor):
    ConsentPurpose = apps.get_model("consent", "ConsentPurpose")
    PurposeVersion = apps.get_model("consent", "PurposeVersion")
    PurposeWording = apps.get_model("consent", "PurposeWording")
    for slug, default in DEFAULT_PURPOSES.items():
        purpose, created = ConsentPurpose.objects.get_or_create(
            slug=slug, defaults={"new_versions_need_fresh_consent": default["fresh"]}
        )
        if created:
            version = PurposeVersion.objects.create(purpose=purpose, number=1)
            for language in LANGUAGES:
                title, text = default[language]
                PurposeWording.objects.create(version=version, language=language, title=title, text=text)


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_purposes_and_wording")]

    operations = [migrations.RunPython(add_purposes, migrations.RunPython.noop)]
