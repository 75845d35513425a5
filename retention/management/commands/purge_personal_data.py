from django.core.management.base import BaseCommand

from retention import queries, services
from retention.models import Trigger


class Command(BaseCommand):
    help = "Deletes or anonymises personal data past its retention period (or, with --dry-run, counts it)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; change nothing.")
        parser.add_argument("--category", action="append", help="Only this category (repeatable).")

    def handle(self, *args, dry_run=False, category=None, **options):
        if dry_run:
            for line in queries.dry_run():
                if category and line.category not in category:
                    continue
                self.stdout.write(
                    f"{line.category:36} {line.register:32} {line.country or '--':3} up to {line.cutoff}  "
                    f"{line.action:9} due {line.due:>7}  held {line.held:>6}  would go {line.would_go:>7}"
                )
            return
        run = services.run_purge(trigger=Trigger.MANUAL, categories=category)
        totals = run.totals()
        self.stdout.write(
            f"Run {run.pk} {run.status}: deleted {totals['deleted']}, anonymised {totals['anonymised']}, "
            f"held {totals['held']}, failed {totals['failed']}"
        )
        if run.status != "finished":
            raise SystemExit(1)
