"""The four teams of DESIGN.md §1 and the routing of each case type, as they stand at this
migration (cases.services.DEFAULT_TEAMS and DEFAULT_ROUTING may change later; history does not)."""

from django.db import migrations

TEAMS = {
    "privacy": "Privacy",
    "security": "Security",
    "whistleblowing": "Whistleblowing",
    "hse": "Health, safety and environment",
}
ROUTING = {
    "subject_request": "privacy",
    "privacy_deviation": "privacy",
    "security_incident": "security",
    "whistleblowing": "whistleblowing",
    "hse": "hse",
    "complaint": "privacy",
    "general_inquiry": "privacy",
}


def create_defaults(apps, schema_editor):
    Team = apps.get_model("trustcenter", "Team")
    CaseTypeRouting = apps.get_model("cases", "CaseTypeRouting")
    teams = {slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TEAMS.items()}
    for case_type, slug in ROUTING.items():
        CaseTypeRouting.objects.get_or_create(case_type=case_type, defaults={"team": teams[slug]})


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_case_type_routing"),
        ("trustcenter", "0003_teams"),
    ]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
