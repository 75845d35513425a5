from django.core.management.base import BaseCommand, CommandError

from consent import services

SHOWN = 20  # differences named one by one; the rest are counted


class Command(BaseCommand):
    help = (
        "Rebuilds the current consent state per subject and purpose from the ledger and reports "
        "every difference it found (by the subject's random identifier, never an address)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report the differences, change nothing.")
        parser.add_argument(
            "--fail-on-difference", action="store_true", help="Exit with an error if anything differed."
        )

    def handle(self, *args, dry_run: bool, fail_on_difference: bool, **options):
        differences = services.rebuild_consent_state(dry_run=dry_run)
        for kind, label in (
            ("missing", "missing from the state table"),
            ("extra", "in the state table, not in the ledger"),
            ("different", "different from the ledger"),
        ):
            found = getattr(differences, kind)
            for subject, purpose in found[:SHOWN]:
                self.stdout.write(f"{label}: subject {subject}, purpose {purpose}")
            if len(found) > SHOWN:
                self.stdout.write(f"… and {len(found) - SHOWN} more {label}")
        if not differences:
            self.stdout.write("The consent state matches the ledger.")
            return
        total = len(differences.missing) + len(differences.extra) + len(differences.different)
        verb = "would be put right (dry run)" if dry_run else "put right"
        self.stdout.write(f"{total} difference(s) {verb}.")
        if fail_on_difference:
            raise CommandError(f"The consent state differed from the ledger in {total} place(s).")
