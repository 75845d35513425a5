"""After restoring a backup: erases again whatever the erasure log says was erased since."""

from django.core.management.base import BaseCommand

from cases import fulfilment


class Command(BaseCommand):
    help = (
        "Erases again the records of every address and phone number in the erasure log (keyed hashes), "
        "for after a backup from before those erasures is restored. Safe to run at any time."
    )

    def handle(self, *args, **options):
        found = fulfilment.reapply_erasures()
        self.stdout.write(f"{found} erased identities found again in the registers and erased again.")
