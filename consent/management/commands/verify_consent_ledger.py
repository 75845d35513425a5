from django.core.management.base import BaseCommand, CommandError

from consent import selectors
from consent.models import ConsentEvent


class Command(BaseCommand):
    help = "Verifies the consent ledger's hash chain and names the first broken link."

    def handle(self, *args, **options):
        broken = selectors.first_broken_link()
        if broken is not None:
            raise CommandError(f"The consent ledger's chain is broken at event {broken}.")
        self.stdout.write(f"The consent ledger's chain holds ({ConsentEvent.objects.count()} events).")
