"""The purge engine and the retention actions staff take (holds, postponements).

One engine serves the beat schedule, the management command, the admin's button, a consent
withdrawal and (later) erasure. It reads what to purge from the registry's declarations and the
rules, claims rows in batches (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so that two
runs at once never take the same row), deletes or anonymises each batch in a transaction that
also adds to the run's counters, and removes the batch's files once that transaction commits.
A run that dies leaves a log that matches what it did; the next run takes the rest.
"""

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registers import external, registry
from registers.models import ExternalRegister, Restriction
from registers.registry import normalise_email
from registers.selectors import FoundRecords, owning_declaration
from trustcenter.files import remove_files, remove_files_on_commit

from .cutoffs import latest_due_clock
from .models import (
    ACTIVE_HOLD,
    Action,
    HoldScope,
    LegalHold,
    Postponement,
    RetentionRule,
    RetentionRun,
    RunStatus,
    RunStep,
    Trigger,
)
from .queries import Step, due_rows, held_rows, local_today, not_held, plan

logger = logging.getLogger(__name__)

ORPHAN_FILES = "orphan_files"


def mark_stale_runs_interrupted() -> int:
    """Runs whose worker stopped beating (killed, machine lost) are marked interrupted; what
    they had done is in their counters, what they had not is taken by the next run."""
    stale = timezone.now() - timedelta(seconds=settings.TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS)
    return RetentionRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale).update(
        status=RunStatus.INTERRUPTED, finished_at=F("heartbeat_at")
    )


def run_purge(
    *,
    trigger: str,
    requested_by=None,
    categories: Iterable[str] | None = None,
    subject_email: str = "",
    batch_size: int | None = None,
    pause_seconds: float | None = None,
    today: date | None = None,
) -> RetentionRun:
    """Deletes or anonymises what is past its retention, writes the run log, and alerts the
    privacy team through the outbox when anything failed. Safe to run twice at once."""
    batch_size = batch_size or settings.TRUSTCENTER_RETENTION_BATCH_SIZE
    pause = settings.TRUSTCENTER_RETENTION_PAUSE_SECONDS if pause_seconds is None else pause_seconds
    today = today or local_today()
    mark_stale_runs_interrupted()
    run = RetentionRun.objects.create(trigger=trigger, requested_by=requested_by)
    try:
        for step in plan(categories=categories):
            _purge_step(run, step, today, batch_size=batch_size, pause=pause, subject_email=subject_email)
        if not subject_email:
            for register, rule in external_plan(categories=categories):
                _purge_external(run, register, rule, today, batch_size=batch_size)
        if not subject_email and categories is None:
            _remove_orphan_files(run)
        failed = run.totals()["failed"]
        run.status = RunStatus.FAILED if failed else RunStatus.FINISHED
        run.error = "" if not failed else "records failed"  # which: the run's steps
    except Exception as error:  # noqa: BLE001 - logged by class only; values may be personal
        logger.error("Retention run %s failed: %s", run.pk, type(error).__name__)
        run.status, run.error = RunStatus.FAILED, type(error).__name__
    _finish(run)
    return run


def _finish(run: RetentionRun) -> None:
    """Closes a run's log; a failed run alerts the privacy team through the outbox."""
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save(update_fields=["status", "error", "finished_at"])
        if run.status == RunStatus.FAILED:
            _alert(run)


def _purge_step(
    run: RetentionRun, step: Step, today: date, *, batch_size: int, pause: float, subject_email: str
):
    _beat(run)
    due = due_rows(step, today, subject_email=subject_email)
    takeable = not_held(due, step, today)
    # Counting a million rows takes a while: only where a hold or postponement could apply.
    held = 0 if takeable is due else due.count() - takeable.count()
    record, _created = RunStep.objects.get_or_create(
        run=run,
        category=step.category,
        register=step.declaration.label,
        country=step.country,
        defaults={"cutoff": step.cutoff(today), "held": held},
    )
    counter = "anonymised" if step.action == Action.ANONYMISE else "deleted"
    one_statement = _deletes_in_one_statement(step)
    statement = _delete_statement(takeable, step, batch_size) if one_statement else None
    last_pk: Any = 0 if one_statement else None
    last_beat = time.monotonic()
    while True:
        if one_statement:
            try:
                ids, names = _claim_delete_and_count(statement, after=last_pk, step_id=record.pk)
            except DatabaseError as error:
                # The statement failed whole (a row something still refers to); the rest goes
                # row by row, so that one row cannot stop the others.
                logger.warning(
                    "Retention in %s falls back to batches of rows (%s)", step.category, type(error).__name__
                )
                one_statement, last_pk = False, None
                continue
            if not ids:
                break
            remove_files_on_commit(names=names)
            last_pk = max(ids)
        else:
            with transaction.atomic():
                # Keyset: each claim starts after the last batch, not at the first key
                # (deleted rows stay in the index until vacuum; failed rows stay put).
                claim = takeable if last_pk is None else takeable.filter(pk__gt=last_pk)
                ids = list(
                    claim.order_by("pk")
                    .select_for_update(skip_locked=True, of=("self",))
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not ids:
                    break
                done, failed = _apply_batch(step, ids)
                last_pk = max(ids)
                RunStep.objects.filter(pk=record.pk).update(
                    **{counter: F(counter) + done, "failed": F("failed") + failed}
                )
        if time.monotonic() - last_beat >= _beat_interval():
            _beat(run)
            last_beat = time.monotonic()
            # Holds placed meanwhile count from here on.
            takeable = not_held(due, step, today)
            if one_statement:
                statement = _delete_statement(takeable, step, batch_size)
        if pause:
            time.sleep(pause)
    RunStep.objects.filter(pk=record.pk).update(finished_at=timezone.now())


def _beat_interval() -> float:
    return min(5.0, settings.TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS / 3)


def _deletes_in_one_statement(step: Step) -> bool:
    """Rows that only need deleting, that nothing refers to, with no deletion of their own and a
    whole-number key, on PostgreSQL: claimed and deleted by one `DELETE ... RETURNING` (the
    purge's common case, near the speed of hand-written SQL)."""
    model = step.declaration.model
    return (
        connection.vendor == "postgresql"
        and step.action == Action.DELETE
        and step.declaration.delete is None
        and not model._meta.related_objects
        and isinstance(model._meta.pk, models.AutoField | models.BigAutoField)
    )


# Stands for "the last batch's largest key" in the compiled statement; no key is negative.
_AFTER = -7_301_512_345_678


@dataclass(frozen=True)
class DeleteStatement:
    sql: str
    params: tuple[Any, ...]

    def with_after(self, after: Any) -> list[Any]:
        return [after if param == _AFTER else param for param in self.params]


def _delete_statement(takeable: QuerySet, step: Step, batch_size: int) -> DeleteStatement | None:
    """The batch's `DELETE`, compiled once (the ORM builds the claim; only the key it starts
    after changes from batch to batch). None where nothing can match (a category on hold)."""
    model = step.declaration.model
    batch = (
        takeable.filter(pk__gt=_AFTER)
        .order_by("pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values("pk")[:batch_size]
    )
    try:
        with transaction.atomic():  # the ORM compiles FOR UPDATE only inside one
            select, params = batch.query.get_compiler(using=batch.db).as_sql()
    except EmptyResultSet:
        return None
    quote = connection.ops.quote_name
    fields: list[Any] = [
        model._meta.pk,
        *(model._meta.get_field(name) for name in step.declaration.file_fields),
    ]
    returning = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(fields[0].column)} IN ({select}) "
        f"RETURNING {returning}"
    )
    return DeleteStatement(sql, tuple(params))


def _claim_delete_and_count(
    statement: DeleteStatement | None, *, after: Any, step_id: int
) -> tuple[list[Any], list[str]]:
    """Deletes the next batch of claimable rows (`FOR UPDATE SKIP LOCKED`: never a row another
    run holds) and adds them to the run's count, in one statement (so one transaction, and one
    round trip); returns their keys and the names of their files."""
    if statement is None:
        return [], []
    quote = connection.ops.quote_name
    sql = (
        f"WITH batch AS ({statement.sql}), counted AS ("
        f"UPDATE {quote(RunStep._meta.db_table)} SET deleted = deleted + (SELECT count(*) FROM batch) "
        f"WHERE id = %s) SELECT * FROM batch"
    )
    # Inside a caller's transaction, a savepoint keeps a failure from spoiling it.
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*statement.with_after(after), step_id])
            rows = cursor.fetchall()
    return [row[0] for row in rows], [name for row in rows for name in row[1:] if name]


def _apply_batch(step: Step, ids: list[Any]) -> tuple[int, int]:
    """Deletes or anonymises a batch; if it fails, row by row, so that one row cannot keep the
    others. Returns how many were done and how many failed."""
    if not ids:
        return 0, 0
    try:
        with transaction.atomic():
            return _apply(step, ids), 0
    except Exception as error:  # noqa: BLE001
        logger.warning(
            "Retention batch in %s failed (%s); trying its rows one by one",
            step.category,
            type(error).__name__,
        )
    done = failed = 0
    for pk in ids:
        try:
            with transaction.atomic():
                done += _apply(step, [pk])
        except Exception as row_error:  # noqa: BLE001
            logger.warning(
                "Retention of one %s row failed: %s", step.declaration.label, type(row_error).__name__
            )
            failed += 1
    return done, failed


def _beat(run: RetentionRun) -> None:
    """Tells other runs this one is alive (mark_stale_runs_interrupted)."""
    RetentionRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def _apply(step: Step, ids: list[Any]) -> int:
    # The run log is the proof of what a purge did; an audit entry per deleted row would add a
    # write per row (a million for a million rows) about records that no longer exist.
    with disable_auditlog():
        return _delete_or_anonymise(step.declaration, step.action, ids)


def _delete_or_anonymise(declaration: registry.Declaration, action: str, ids: list[Any]) -> int:
    rows = declaration.model._default_manager.filter(pk__in=ids)
    names = [
        name
        for field in declaration.file_fields
        for name in rows.exclude(**{field: ""}).values_list(field, flat=True)
    ]
    if action == Action.ANONYMISE:
        changes = dict(declaration.anonymise)
        changes.update({field: "" for field in declaration.file_fields})
        if any(field.name == "anonymised_at" for field in declaration.model._meta.concrete_fields):
            changes["anonymised_at"] = timezone.now()
        done = rows.update(**changes)
    elif declaration.delete is not None:
        return declaration.delete(ids)
    else:
        done = rows.delete()[1].get(declaration.label, 0)
    remove_files_on_commit(names=names)
    return done


# --- Registers kept in other databases (issue 13, point 7) ------------------------------------------


def external_plan(*, categories: Iterable[str] | None = None) -> list[tuple[ExternalRegister, RetentionRule]]:
    """The enabled external registers whose category has an enabled rule."""
    rules = {rule.category: rule for rule in RetentionRule.objects.filter(enabled=True)}
    wanted = set(categories) if categories is not None else None
    return [
        (register, rules[register.category])
        for register in ExternalRegister.objects.filter(enabled=True)
        .exclude(clock_column="")
        .order_by("name")
        if register.category in rules and (wanted is None or register.category in wanted)
    ]


def _purge_external(
    run: RetentionRun, register: ExternalRegister, rule: RetentionRule, today: date, *, batch_size: int
):
    """One external register under its rule (the rule's own period: the register has no country).
    An unreachable database counts as a failure: the run is marked failed, and the next takes it."""
    _beat(run)
    cutoff = latest_due_clock(today, rule.period, from_calendar_year_end=False)
    counter = "anonymised" if register.erasure == ExternalRegister.Erasure.ANONYMISE else "deleted"
    step = RunStep.objects.create(run=run, category=rule.category, register=register.label, cutoff=cutoff)
    holds = LegalHold.objects.filter(ACTIVE_HOLD)
    try:
        if holds.filter(scope=HoldScope.CATEGORY, category=rule.category).exists():
            done, held = 0, external.count_due(register, cutoff)
        else:  # the rows of held addresses stay (there are no record holds on another database)
            held_emails = tuple(holds.filter(scope=HoldScope.SUBJECT).values_list("email", flat=True))
            held = external.count_due(register, cutoff, emails=held_emails)
            done = external.purge_due(register, cutoff, except_emails=held_emails, batch=batch_size)
    except external.Unavailable as error:
        logger.warning("Retention run %s: %s unreachable (%s)", run.pk, register.label, error)
        RunStep.objects.filter(pk=step.pk).update(
            **{counter: error.done}, failed=1, finished_at=timezone.now()
        )
        return
    RunStep.objects.filter(pk=step.pk).update(**{counter: done, "held": held, "finished_at": timezone.now()})


def _erase_external(
    run: RetentionRun, register: ExternalRegister, emails: tuple[str, ...]
) -> "ErasureOutcome":
    action = Action.ANONYMISE if register.erasure == ExternalRegister.Erasure.ANONYMISE else Action.DELETE
    counter = "anonymised" if action == Action.ANONYMISE else "deleted"
    step = RunStep.objects.create(run=run, category=register.category, register=register.label)
    holds = LegalHold.objects.filter(ACTIVE_HOLD)
    held = holds.filter(scope=HoldScope.CATEGORY, category=register.category).exists() or (
        holds.filter(scope=HoldScope.SUBJECT, email__in=emails).exists()
    )
    erased = kept = 0
    try:
        if held:  # kept whole: the other database has no place to mark a row restricted
            kept = external.count_for(register, emails)
        else:
            erased = external.erase_for(register, emails)
    except external.Unavailable as error:
        # The batches that committed before it went away are erased; the rest is tried again.
        logger.warning("Erasure run %s: %s unreachable (%s)", run.pk, register.label, error)
        RunStep.objects.filter(pk=step.pk).update(
            **{counter: error.done}, failed=1, finished_at=timezone.now()
        )
        return ErasureOutcome(
            register=register.label, action=action, erased=error.done, kept=0, kept_because=[], failed=True
        )
    RunStep.objects.filter(pk=step.pk).update(
        **{counter: erased, "held": kept, "finished_at": timezone.now()}
    )
    return ErasureOutcome(
        register=register.label,
        action=action,
        erased=erased,
        kept=kept,
        kept_because=[LEGAL_HOLD] if kept else [],
    )


# --- Erasure at a data subject's request (issue 13, point 4) --------------------------------------

HELD = gettext_lazy(
    "A legal hold (a claim, a complaint or proceedings) requires keeping them (art. 17(3)(e))."
)


@dataclass
class ErasureOutcome:
    """What an erasure did in one register: counts and the registry's reasons, no record."""

    register: str  # the model's label
    action: str  # Action.DELETE or Action.ANONYMISE
    erased: int
    kept: int
    kept_because: list[str]  # LEGAL_DUTY and/or LEGAL_HOLD
    failed: bool = False  # an external register that could not be reached: erase again later


LEGAL_DUTY, LEGAL_HOLD = "legal_duty", "legal_hold"


def kept_because_text(*, declaration: registry.Declaration | None, reason: str) -> str:
    """A reason of ErasureOutcome.kept_because, in words (the active language)."""
    if reason == LEGAL_DUTY and declaration is not None:
        return str(declaration.legal_duty)
    return str(HELD)


def erase_subject_records(
    *,
    found: list[FoundRecords],
    emails: tuple[str, ...] = (),
    external_registers: Iterable[ExternalRegister] | None = None,
    requested_by=None,
) -> tuple[RetentionRun, list[ErasureOutcome]]:
    """Erases the records found for a person as their declarations say (deleted or anonymised,
    with their files and what belongs to them), except those the law requires keeping or a
    legal hold covers: those are kept and restricted (registers.Restriction). The audit log's
    values about the erased records are blanked. The run log (trigger "erasure") holds counts
    per register only. One transaction per register: a failure leaves the others done and the
    run failed, to be run again."""
    run = RetentionRun.objects.create(trigger=Trigger.ERASURE, requested_by=requested_by)
    outcomes = []
    try:
        for records in found:
            # A part (a case's messages, a subject's consent events) goes with the record it
            # belongs to, or stays with it where that is kept or anonymised.
            if owning_declaration(records.declaration) is records.declaration:
                outcomes.append(_erase_register(run, records))
        # Registers kept in other databases, found by the same addresses (`emails`).
        if emails:
            if external_registers is None:
                external_registers = ExternalRegister.objects.filter(enabled=True).order_by("name")
            for register in external_registers:
                outcomes.append(_erase_external(run, register, emails))
        failed = any(outcome.failed for outcome in outcomes)
        run.status = RunStatus.FAILED if failed else RunStatus.FINISHED
        run.error = "a register could not be reached" if failed else ""
    except Exception as error:  # noqa: BLE001 - logged by class only; values may be personal
        logger.error("Erasure run %s failed: %s", run.pk, type(error).__name__)
        run.status, run.error = RunStatus.FAILED, type(error).__name__
    _finish(run)
    return run, outcomes


def _erase_register(run: RetentionRun, records: FoundRecords) -> ErasureOutcome:
    declaration = records.declaration
    rows = records.rows
    if declaration.anonymised is not None:
        rows = rows.exclude(declaration.anonymised)  # already anonymised: nothing left to erase
    if declaration.erasable is not None:
        rows = rows.filter(declaration.erasable)
    reasons: list[str] = []
    kept_ids: list[Any] = []
    if declaration.legal_duty:
        # The law's period (per country: the rule's country periods) still runs for these.
        duty = rows if declaration.legal_duty_scope is None else rows.filter(declaration.legal_duty_scope)
        kept_ids = list(duty.exclude(past_retention(declaration)).values_list("pk", flat=True))
        if kept_ids:
            reasons.append(LEGAL_DUTY)
    held = held_rows(rows, declaration).exclude(pk__in=kept_ids).values_list("pk", flat=True)
    if held_ids := list(held):
        reasons.append(LEGAL_HOLD)
        kept_ids += held_ids
    erase_ids = list(rows.exclude(pk__in=kept_ids).values_list("pk", flat=True))
    action = Action.ANONYMISE if declaration.erasure == "anonymise" else Action.DELETE
    categories = [category for retention in declaration.retention for category in retention.categories()]
    with transaction.atomic():
        step = RunStep.objects.create(
            run=run,
            category=categories[0] if categories else "",
            register=declaration.label,
            held=len(kept_ids),
        )
        erased = 0
        if erase_ids:
            _blank_audit_entries(declaration, erase_ids)
            with disable_auditlog():
                erased = _delete_or_anonymise(declaration, action, erase_ids)
        counter = "anonymised" if action == Action.ANONYMISE else "deleted"
        RunStep.objects.filter(pk=step.pk).update(**{counter: erased, "finished_at": timezone.now()})
        if kept_ids:
            with translation.override(settings.LANGUAGE_CODE):
                why = " ".join(
                    kept_because_text(declaration=declaration, reason=reason) for reason in reasons
                )
            restrict(model=declaration.model, ids=kept_ids, reason=why)
    return ErasureOutcome(
        register=declaration.label, action=action, erased=erased, kept=len(kept_ids), kept_because=reasons
    )


def past_retention(declaration: registry.Declaration, today: date | None = None) -> models.Q:
    """The rows of a register past their period under the enabled rule that takes them (each
    country's period where the law differs), held ones included: what no legal duty keeps. A
    condition on the register's rows; nothing where no enabled rule takes them."""
    today = today or local_today()
    past = models.Q(pk__in=[])
    for step in plan():
        if step.declaration.label == declaration.label:
            past |= models.Q(pk__in=due_rows(step, today).values("pk"))
    return past


def _blank_audit_entries(declaration: registry.Declaration, ids: list[Any]) -> None:
    """The audit log keeps who did what and when about the erased records, not their values."""
    rows = declaration.model._default_manager.filter(pk__in=ids)
    LogEntry.objects.get_for_objects(rows).update(
        changes={}, changes_text="", object_repr="", additional_data=None, serialized_data=None
    )


def restrict(*, model: type[models.Model], ids: list[Any], reason: str) -> None:
    """Marks records as kept restricted (art. 18(2)): the registers' lists leave them out."""
    record_type = ContentType.objects.get_for_model(model)
    Restriction.objects.bulk_create(
        [Restriction(record_type=record_type, record_id=str(pk), reason=reason[:300]) for pk in ids],
        ignore_conflicts=True,
    )


def _alert(run: RetentionRun) -> None:
    from trustcenter.services import enqueue_email

    facts = {"id": run.pk, "trigger": run.get_trigger_display(), "error": run.error, **run.totals()}
    subject = _("Trust Center: retention run %(id)s failed") % facts
    body = (
        _(
            "A retention run did not finish cleanly.\n\n"
            "Run: %(id)s\nTrigger: %(trigger)s\nError: %(error)s\n"
            "Deleted: %(deleted)s\nAnonymised: %(anonymised)s\nHeld: %(held)s\nFailed: %(failed)s\n\n"
            "The run log in the admin (Retention runs) shows each register. Records that failed stay "
            "and are tried again by the next run.\n"
        )
        % facts
    )
    enqueue_email(
        recipient=settings.TRUSTCENTER_ALERT_EMAIL or settings.TRUSTCENTER_PRIVACY_EMAIL,
        subject=subject,
        body=body,
        concerns=run,
    )


def stored_files(storage=default_storage, folder: str = "") -> Iterator[str]:
    """Every file name under a folder of the storage, depth first."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for sub in folders:
        yield from stored_files(storage, f"{folder}/{sub}" if folder else sub)


def _referenced(names: list[str]) -> set[str]:
    found: set[str] = set()
    for declaration in registry.declarations():
        for field in declaration.file_fields:
            found.update(
                declaration.model._default_manager.filter(**{f"{field}__in": names}).values_list(
                    field, flat=True
                )
            )
    return found


def _remove_orphan_files(run: RetentionRun) -> None:
    """Upload files that no record names, older than a day (a process killed inside a
    transaction leaves them; DESIGN.md: files go with their records)."""
    older_than = timezone.now() - timedelta(hours=settings.TRUSTCENTER_ORPHAN_FILE_HOURS)
    record = RunStep.objects.create(run=run, category=ORPHAN_FILES, register="storage")
    for folder in settings.TRUSTCENTER_UPLOAD_FOLDERS:
        batch: list[str] = []
        for name in stored_files(default_storage, folder):
            batch.append(name)
            if len(batch) >= 500:
                _remove_unreferenced(record, batch, older_than)
                _beat(run)
                batch = []
        if batch:
            _remove_unreferenced(record, batch, older_than)
    RunStep.objects.filter(pk=record.pk).update(finished_at=timezone.now())


def _modified_before(name: str, moment: datetime) -> bool:
    """Whether a listed file is older than the moment; one gone since it was listed (another
    run removed it) is no longer this run's business."""
    try:
        return default_storage.get_modified_time(name) < moment
    except FileNotFoundError:
        return False


def _remove_unreferenced(record: RunStep, names: list[str], older_than: datetime) -> None:
    unreferenced = set(names) - _referenced(names)
    old = [name for name in unreferenced if _modified_before(name, older_than)]
    removed = remove_files(names=old)
    RunStep.objects.filter(pk=record.pk).update(
        deleted=F("deleted") + removed, failed=F("failed") + len(old) - removed
    )


# Consent (the ledger calls this after a withdrawal is committed).
def consent_withdrawn(*, email: str, purpose: str) -> RetentionRun | None:
    """A subject withdrew a consent: the records that consent kept, or whose clock it ran, are
    purged for that subject at once (a recruitment-database entry; an event participant or a
    lead past its period). A purpose that keeps no record (a newsletter) starts no run."""
    categories = {
        category
        for declaration in registry.declarations()
        for retention in declaration.retention
        if purpose in (retention.kept_by_consent, retention.clock_from_consent)
        for category in retention.categories()
    }
    if not categories:
        return None
    return run_purge(trigger=Trigger.WITHDRAWAL, categories=categories, subject_email=email, pause_seconds=0)


# Holds and postponements.
def place_hold(
    *, actor, scope: str, reason: str, email: str = "", category: str = "", record=None, until=None
) -> LegalHold:
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the hold is needed.")]})
    hold = LegalHold(scope=scope, reason=reason.strip(), until=until, created_by=actor)
    if scope == HoldScope.SUBJECT:
        hold.email = normalise_email(email)
    elif scope == HoldScope.CATEGORY:
        hold.category = category
    else:
        hold.record_type = ContentType.objects.get_for_model(record)
        hold.record_id = str(record.pk)
    hold.full_clean()
    hold.save()
    return hold


def lift_hold(*, hold: LegalHold, actor) -> LegalHold:
    """Ends a hold (once; a second lift changes nothing), in the audit trail; the next run
    takes what it kept."""
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if hold.lifted_at is None:
            hold.lifted_at, hold.lifted_by = timezone.now(), actor
            hold.save(update_fields=["lifted_at", "lifted_by"])
    return hold


def categories_of(record: models.Model) -> list[str]:
    """The retention categories a record falls in, read from its declaration."""
    declaration = registry.declaration_for(type(record))
    found = []
    for retention in declaration.retention if declaration else ():
        if retention.category:
            found.append(retention.category)
        elif retention.category_field:
            found.append(f"{retention.category_prefix}{getattr(record, retention.category_field)}")
    return found


def postpone(*, record: models.Model, until: date, reason: str, actor) -> Postponement:
    """Keeps one record past its rule until a date, no later than the strictest of the rules
    of the categories it falls in allows (none: not at all)."""
    rules = RetentionRule.objects.filter(category__in=categories_of(record))
    longest = min((rule.max_postponement_days for rule in rules), default=0)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the deletion is postponed.")]})
    if until <= local_today():
        raise ValidationError({"until": [_("Choose a day after today.")]})
    if until > local_today() + timedelta(days=longest):
        raise ValidationError(
            {"until": [_("The rule allows postponing by at most %(days)s days.") % {"days": longest}]}
        )
    with transaction.atomic():
        postponement, _created = Postponement.objects.update_or_create(
            record_type=ContentType.objects.get_for_model(record),
            record_id=str(record.pk),
            defaults={
                "until": until,
                "reason": reason.strip(),
                "created_by": actor,
                "created_at": timezone.now(),
            },
        )
    return postponement
