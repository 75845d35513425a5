"""The consent API's input and output shapes. Input serializers check the shape of what a system
sends; the ledger's rules are consent.services.record_consent's."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from consent import selectors
from consent.models import Channel, ConsentAction, ConsentPurpose, Purpose

NO_WORDING = _("This purpose has no published wording to agree to.")
SUPPRESSED = _(
    "This address is on the suppression list (erased, or objected to direct marketing): it is not "
    "added again."
)
ANSWERS = [
    (selectors.GIVEN, _("Given, and standing")),
    (selectors.WITHDRAWN, _("Withdrawn (or refused)")),
    (selectors.NEVER_ANSWERED, _("Never answered")),
]

# --- Input ---------------------------------------------------------------------------------------


class AddressField(serializers.EmailField):
    """An e-mail address, and only text: DRF's CharField would take a number for its string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault(
            "help_text",
            _("The person's e-mail address; compared trimmed and in lower case. It appears in no URL."),
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ConsentAddressInput(serializers.Serializer):
    email = AddressField()


class ConsentEventInput(serializers.Serializer):
    email = AddressField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    action = serializers.ChoiceField(choices=ConsentAction.choices)
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text=_(
            "When the person answered, for an import of earlier answers; now if left out. Not in the "
            "future, and not before the purpose's current wording was published (the event records "
            "that wording)."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        purpose = ConsentPurpose.objects.filter(slug=attrs["purpose"]).first()
        version = selectors.current_version(purpose=purpose) if purpose else None
        if purpose is None or version is None:
            raise serializers.ValidationError({"purpose": [NO_WORDING]})
        occurred_at = attrs.get("occurred_at")
        if occurred_at is not None and occurred_at > timezone.now():
            raise serializers.ValidationError({"occurred_at": [_("This time is in the future.")]})
        if occurred_at is not None and occurred_at < version.published_at:
            raise serializers.ValidationError(
                {
                    "occurred_at": [
                        _(
                            "This time is before the purpose's current wording was published "
                            "(%(published)s): the person cannot have answered it then."
                        )
                        % {"published": version.published_at.isoformat(timespec="seconds")}
                    ]
                }
            )
        return {**attrs, "purpose": purpose}


# --- Output --------------------------------------------------------------------------------------


class ConsentEventSerializer(serializers.Serializer):
    """One event of the ledger. No address: the subject is the ledger's random identifier."""

    id = serializers.IntegerField(read_only=True)
    subject = serializers.UUIDField(source="subject_id", read_only=True)
    purpose = serializers.ChoiceField(choices=Purpose.choices, source="purpose.slug", read_only=True)
    version = serializers.IntegerField(
        source="version.number", read_only=True, help_text=_("The wording version the answer was to.")
    )
    action = serializers.ChoiceField(choices=ConsentAction.choices, read_only=True)
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    digest = serializers.CharField(
        source="seal.digest",
        read_only=True,
        allow_null=True,
        help_text=_(
            "The event's link in the ledger's hash chain (SHA-256, hex); null until the event is "
            "sealed into the chain, within a minute of its recording (the history has it then)."
        ),
    )


class ConsentHistorySerializer(serializers.Serializer):
    events = ConsentEventSerializer(many=True, read_only=True)


class ConsentPurposeStateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Purpose.choices, read_only=True)
    standing = serializers.BooleanField(
        read_only=True, help_text=_("Whether the person's consent stands now: the answer to “may I?”.")
    )
    answer = serializers.ChoiceField(choices=ANSWERS, read_only=True)
    given_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When the consent was last given (or renewed).")
    )
    withdrawn_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When it was withdrawn; null while it stands.")
    )
    version = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "The wording version the consent agreed to (with none ever given, the one refused); null "
            "if the person never answered."
        ),
    )
    current_version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("The purpose's current wording version.")
    )
    needs_fresh_answer = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "The consent stands, for an earlier wording of a purpose whose new versions need fresh "
            "consent: it covers what it agreed to until the person answers the current wording, "
            "which they should be asked."
        ),
    )


class ConsentStateSerializer(serializers.Serializer):
    purposes = ConsentPurposeStateSerializer(many=True, read_only=True)
