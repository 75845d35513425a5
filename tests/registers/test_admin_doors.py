"""The admin pages of what issue 13 added to the registers: registers in other databases (and their
action that checks the connection), the recipients of registers, restricted records, the
suppression list and the erasure log. Each list, add page and change page is tried by a
logged-out visitor, a staff member without any permission, a staff member of another team with
unrelated permissions, a staff member with the model's view permission and a superuser: only the
last two see the object; the lists kept by erasures (restrictions, suppressions, erasure log) are
added to by no one. The connection check run by someone without rights does nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db.models import Model
from django.urls import reverse

from registers.models import (
    ErasedIdentity,
    ExternalRegister,
    Lead,
    RegisterRecipient,
    Restriction,
    SuppressedAddress,
)
from registers.registry import identity_digest
from tests.factories import CaseHandlerFactory, StaffFactory
from tests.registers.external_db import external_table
from tests.registers.factories import staff_with

pytestmark = pytest.mark.django_db

KARI_DIGEST = identity_digest("kari@example.com")


@pytest.fixture(autouse=True)
def password_login_is_enough(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False


@dataclass(frozen=True)
class Door:
    model: type[Model]
    make: Callable[[], Model]
    shown: tuple[str, ...]  # what the list and the change page show of the object
    addable: bool  # whether anyone may add one by hand
    form: dict[str, Any]  # a valid add form

    @property
    def name(self) -> str:
        return self.model._meta.model_name or ""

    def url(self, view: str, obj: Model | None = None) -> str:
        args = [obj.pk] if obj is not None else []
        return reverse(f"admin:registers_{self.name}_{view}", args=args)


def external_register() -> ExternalRegister:
    return ExternalRegister.objects.create(
        name="Legacy CRM contacts",
        connection_variable="TRUSTCENTER_EXTERNAL_LEGACY_CRM_URL",
        table="crm_contacts_legacy",
        email_column="contact_email",
        category="leads",
        exported_columns=["contact_email"],
    )


DOORS = [
    Door(
        ExternalRegister,
        external_register,
        shown=("Legacy CRM contacts", "crm_contacts_legacy"),
        addable=True,
        form={
            "name": "Added by an outsider",
            "connection_variable": "TRUSTCENTER_EXTERNAL_OUTSIDER_URL",
            "table": "contacts",
            "key_column": "id",
            "email_column": "email",
            "clock_column": "",
            "category": "",
            "exported_columns": '["email"]',
            "erasure": "delete",
            "anonymise": "{}",
            "enabled": "on",
        },
    ),
    Door(
        RegisterRecipient,
        lambda: RegisterRecipient.objects.create(
            register="registers.Lead", name="Fjord CRM Processing AS", email="dpo@fjordcrm.example"
        ),
        shown=("Fjord CRM Processing AS", "dpo@fjordcrm.example"),
        addable=True,
        form={"register": "registers.Lead", "name": "Added by an outsider", "email": "x@outsider.example"},
    ),
    Door(
        Restriction,
        lambda: Restriction.objects.create(
            record_type=ContentType.objects.get_for_model(Lead),
            record_id="4711",
            reason="Kept under the Bookkeeping Act until 2031",
        ),
        shown=("Kept under the Bookkeeping Act until 2031", "4711"),
        addable=False,
        form={"record_type": "1", "record_id": "1", "reason": "Added by an outsider"},
    ),
    Door(
        SuppressedAddress,
        lambda: SuppressedAddress.objects.create(digest=KARI_DIGEST, why=SuppressedAddress.Why.OBJECTION),
        shown=(KARI_DIGEST[:12],),
        addable=False,
        form={"digest": "0" * 64, "why": "erasure"},
    ),
    Door(
        ErasedIdentity,
        lambda: ErasedIdentity.objects.create(digest=KARI_DIGEST, case_reference="SR-2025-0042"),
        shown=(KARI_DIGEST[:12], "SR-2025-0042"),
        addable=False,
        form={"digest": "0" * 64, "case_reference": "Added by an outsider"},
    ),
]


def door_id(door: Door) -> str:
    return door.name


def another_team() -> Any:
    """A case handler of the HSE team who may also read and change leads: nothing of these."""
    user: Any = CaseHandlerFactory(teams=["hse"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="registers", codename__in=["view_lead", "change_lead", "view_legalentity"]
        )
    )
    return user


REFUSED = [
    pytest.param(StaffFactory, id="staff-without-permissions"),
    pytest.param(another_team, id="another-team-unrelated-permissions"),
]


def assert_nothing_of(door: Door, response, where: str) -> None:
    body = response.content.decode()
    for shown in door.shown:
        assert shown not in body, f"{where} shows {shown!r}"


def assert_unchanged(door: Door, obj: Model) -> None:
    assert door.model._default_manager.count() == 1, "an object was added or deleted"
    after = door.model._default_manager.get(pk=obj.pk)
    assert all(
        getattr(after, field.attname) == getattr(obj, field.attname)
        for field in door.model._meta.concrete_fields
    ), "the object was changed"


@pytest.mark.parametrize("door", DOORS, ids=door_id)
def test_a_logged_out_visitor_is_sent_to_the_login_and_sees_nothing(client, door):
    obj = door.make()
    login = reverse("admin:login")
    for url in (door.url("changelist"), door.url("add"), door.url("change", obj)):
        for method in ("get", "post"):
            response = getattr(client, method)(url, door.form if method == "post" else None)
            where = f"{method.upper()} {url}"
            assert response.status_code == 302, f"{where} answers {response.status_code}"
            location = urlsplit(response["Location"])
            assert location.path == login, where
            assert parse_qs(location.query) == {"next": [url]}, where
            assert_nothing_of(door, response, where)
    assert_unchanged(door, obj)


@pytest.mark.parametrize("visitor", REFUSED)
@pytest.mark.parametrize("door", DOORS, ids=door_id)
def test_staff_without_the_model_s_permission_are_refused_every_page(client, door, visitor):
    obj = door.make()
    client.force_login(visitor())
    for url in (door.url("changelist"), door.url("add"), door.url("change", obj), door.url("delete", obj)):
        for method in ("get", "post"):
            posted = {**door.form, "post": "yes"} if method == "post" else None
            response = getattr(client, method)(url, posted)
            where = f"{method.upper()} {url}"
            assert response.status_code == 403, f"{where} answers {response.status_code}"
            assert_nothing_of(door, response, where)
    assert_unchanged(door, obj)
    # Nor does the admin's index offer the model.
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert door.url("changelist") not in index.content.decode()


@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(lambda door: staff_with(f"view_{door.name}"), id="view-permission"),
        pytest.param(lambda door: StaffFactory(is_superuser=True), id="superuser"),
    ],
)
@pytest.mark.parametrize("door", DOORS, ids=door_id)
def test_staff_with_the_view_permission_or_a_superuser_see_the_object(client, door, reader):
    obj = door.make()
    client.force_login(reader(door))

    listing = client.get(door.url("changelist"))
    assert listing.status_code == 200
    change = client.get(door.url("change", obj))
    assert change.status_code == 200
    for page, where in ((listing, "the list"), (change, "the change page")):
        body = page.content.decode()
        for shown in door.shown:
            assert shown in body, f"{where} does not show {shown!r}"
    assert door.url("change", obj) in listing.content.decode()
    assert door.url("changelist") in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("door", [door for door in DOORS if not door.addable], ids=door_id)
def test_the_lists_kept_by_erasures_are_added_to_and_changed_by_no_one(client, door):
    """Restrictions, suppressions and the erasure log: made by erasures and objections only; not
    even a superuser adds or edits one (deleting one lifts it)."""
    obj = door.make()
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(door.url("add")).status_code == 403
    assert client.post(door.url("add"), door.form).status_code == 403
    change = client.get(door.url("change", obj))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    client.post(door.url("change", obj), door.form)
    assert_unchanged(door, obj)
    assert door.url("add") not in client.get(door.url("changelist")).content.decode()


@pytest.mark.parametrize("door", [door for door in DOORS if door.addable], ids=door_id)
def test_a_superuser_adds_where_adding_is_allowed(client, door):
    """The add form the refused staff posted above is a valid one: refused for them, not for its
    content."""
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(door.url("add")).status_code == 200
    response = client.post(door.url("add"), door.form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert door.model._default_manager.filter(name="Added by an outsider").exists()


# --- The action that checks a register's connection ------------------------------------------------


def check_connection(client, register: ExternalRegister):
    return client.post(
        reverse("admin:registers_externalregister_changelist"),
        {"action": "check_connection", "_selected_action": [str(register.pk)], "index": "0"},
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def answering_register(drop_external_tables) -> ExternalRegister:
    """A register in the second PostgreSQL database that answers: a check would say so."""
    register, table = external_table("postgres", [{"name": "Kari", "email": "kari@example.com"}])
    drop_external_tables.append(("postgres", table))
    return register


@pytest.mark.parametrize(
    "visitor",
    [pytest.param(lambda: None, id="logged-out"), *REFUSED],
)
def test_the_connection_check_posted_without_rights_does_nothing(client, answering_register, visitor):
    user = visitor()
    if user is not None:
        client.force_login(user)
    response = check_connection(client, answering_register)
    if user is None:
        assert response.status_code == 302 and urlsplit(response["Location"]).path == reverse("admin:login")
    else:
        assert response.status_code == 403
    assert messages_of(response) == []
    assert "answers" not in response.content.decode()
    assert answering_register.name not in response.content.decode()


def test_the_connection_check_tells_an_admin_whether_the_register_answers_and_hides_the_url(
    client, answering_register, monkeypatch
):
    client.force_login(StaffFactory(is_superuser=True))
    response = check_connection(client, answering_register)
    assert response.status_code == 302
    assert messages_of(response) == [f"{answering_register.name} answers: 1 rows."]
    assert f"{answering_register.name} answers: 1 rows." in client.get(response["Location"]).content.decode()

    monkeypatch.setenv(
        "TRUSTCENTER_EXTERNAL_LEGACY_CRM_URL", "postgresql+psycopg2://crm:s3cret-pw@127.0.0.1:9/crm"
    )
    gone = external_register()
    response = check_connection(client, gone)
    [said] = messages_of(response)
    assert said.startswith("Legacy CRM contacts could not be reached:")
    assert "s3cret-pw" not in said and "127.0.0.1" not in said


def test_the_connection_check_needs_the_right_to_change_registers_not_only_to_see_them(
    client, answering_register
):
    client.force_login(staff_with("view_externalregister"))
    response = check_connection(client, answering_register)
    assert messages_of(response) == []
    assert (
        f"{answering_register.name} answers"
        not in client.get(reverse("admin:registers_externalregister_changelist")).content.decode()
    )

    client.force_login(staff_with("view_externalregister", "change_externalregister"))
    response = check_connection(client, answering_register)
    assert messages_of(response) == [f"{answering_register.name} answers: 1 rows."]
