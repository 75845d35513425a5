"""Consent receipts (issue 12, point 4): one ledger event as a receipt with the fields of the
Kantara Initiative's Consent Receipt Specification v1.1 that apply. Pure functions, no ORM
(DESIGN.md §4): `selectors.consent_receipt` gathers what they need.

The specification records a consent given; the ledger also records withdrawals, so a receipt
adds what the specification has no field for: the action, the channel, the exact wording agreed
to (its version, language, title and text), and the event's place in the ledger's hash chain
(its digest, the digest before it, and the fields the digest covers), so that anyone holding a
receipt can recompute the digest (consent/chain.py) and check it against the chain.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

SPECIFICATION_VERSION = "KI-CR-v1.1.0"
# Receipt identifiers are derived from the event's digest, so that the same event always gets
# the same receipt identifier, and no other event can.
RECEIPT_NAMESPACE = uuid.UUID("4f6d1c1e-5b0a-4e55-9a53-0c6b9d1d2a71")

# The specification's purpose and PII categories (its appendices), per purpose of DESIGN.md §1.
PURPOSE_CATEGORIES: dict[str, list[str]] = {
    "newsletter": ["Marketing"],
    "marketing_email": ["Marketing"],
    "event_followup": ["Marketing"],
    "lead_registration": ["Marketing"],
    "recruitment_database": ["Core Function"],
    "cookies_functional": ["Personalized Experience"],
    "cookies_analytics": ["Improve Performance"],
    "cookies_marketing": ["Marketing"],
}
PII_CATEGORIES: dict[str, list[str]] = {
    "newsletter": ["Contact"],
    "marketing_email": ["Contact"],
    "event_followup": ["Biographical", "Contact"],
    "lead_registration": ["Contact"],
    "recruitment_database": ["Biographical", "Contact", "HR"],
    "cookies_functional": ["Network/Service"],
    "cookies_analytics": ["Network/Service", "Behavioral"],
    "cookies_marketing": ["Network/Service", "Behavioral"],
}


@dataclass(frozen=True)
class Controller:
    name: str
    contact: str
    street_address: str
    country: str
    email: str
    phone: str
    url: str


@dataclass(frozen=True)
class Wording:
    version: int
    language: str
    title: str
    text: str


@dataclass(frozen=True)
class ReceiptEvent:
    """One ledger event, as a receipt tells it."""

    event_id: int
    subject_id: str
    purpose: str
    service: str
    action: str
    channel: str
    occurred_at: datetime
    digest: str
    previous_digest: str
    chain_fields: Mapping[str, str]
    wording: Wording


def receipt_id(*, digest: str) -> str:
    return str(uuid.uuid5(RECEIPT_NAMESPACE, digest))


def consent_receipt(
    *,
    event: ReceiptEvent,
    controller: Controller,
    jurisdiction: str,
    policy_url: str,
    collection_method: str,
    termination: str,
) -> dict:
    """The receipt of one event, as a JSON-ready dict. `collection_method` and `termination`
    are sentences in the receipt's language; the piiPrincipalId is the subject's random
    identifier in the ledger, never an address."""
    return {
        "version": SPECIFICATION_VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": int(event.occurred_at.timestamp()),
        "collectionMethod": collection_method,
        "consentReceiptID": receipt_id(digest=event.digest),
        "language": event.wording.language,
        "piiPrincipalId": event.subject_id,
        "piiControllers": [
            {
                "piiController": controller.name,
                "onBehalf": False,
                "contact": controller.contact,
                "address": {"streetAddress": controller.street_address, "addressCountry": controller.country},
                "email": controller.email,
                "phone": controller.phone,
                "piiControllerUrl": controller.url,
            }
        ],
        "policyUrl": policy_url,
        "services": [
            {
                "service": event.service,
                "purposes": [
                    {
                        "purpose": event.wording.title,
                        "purposeCategory": PURPOSE_CATEGORIES.get(event.purpose, []),
                        "consentType": "EXPLICIT",
                        "piiCategory": PII_CATEGORIES.get(event.purpose, []),
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        # Beyond the specification: what happened, and how to check it against the ledger.
        "action": event.action,
        "channel": event.channel,
        "wording": {
            "version": event.wording.version,
            "language": event.wording.language,
            "title": event.wording.title,
            "text": event.wording.text,
        },
        "ledgerEvent": {
            "id": event.event_id,
            "occurredAt": event.occurred_at.isoformat(),
            "digest": event.digest,
            "previousDigest": event.previous_digest,
            "digestCovers": dict(event.chain_fields),
        },
    }
