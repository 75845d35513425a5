from django.core.management.base import BaseCommand, CommandError

from consent import selectors, services
from consent.models import ConsentSeal


class Command(BaseCommand):
    help = (
        "Verifies the consent ledger's hash chain and names the first broken link; with --seal, seals "
        "the events not yet in the chain first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="Seal the events not yet in the chain first.")

    def handle(self, *args, **options):
        if options["seal"]:
            services.seal_ledger()
        broken = selectors.first_broken_link()
        if broken is not None:
            raise CommandError(f"The consent ledger's chain is broken at event {broken}.")
        self.stdout.write(
            f"The consent ledger's chain holds ({ConsentSeal.objects.count()} events sealed, "
            f"{selectors.unsealed_events()} not yet)."
        )
