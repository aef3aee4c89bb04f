import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from contact_points.models import Authority, AuthorityInstrument, ContactPerson, Country
from mla.accounts.models import User

TEST_PASSWORD = "Correct-Horse-Battery-42"


class CountryFactory(DjangoModelFactory):
    class Meta:
        model = Country
        django_get_or_create = ("code",)

    code = "RO"
    name = "Romania"
    eio_bound = True
    budapest_party = True


class AuthorityFactory(DjangoModelFactory):
    class Meta:
        model = Authority
        skip_postgeneration_save = True

    identifier = factory.Sequence(lambda n: f"xx-authority-{n}")
    name = factory.Sequence(lambda n: f"Authority number {n}")
    country = factory.SubFactory(CountryFactory)
    kind = "prosecutor"
    time_zone = "Europe/Bucharest"
    office_hours = "Mon-Fri 08:00-16:00"

    @factory.post_generation
    def languages(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.languages.set(extracted)

    @factory.post_generation
    def instruments(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            AuthorityInstrument.objects.bulk_create(
                [AuthorityInstrument(authority=self, instrument=code) for code in extracted]
            )


class ServiceProviderFactory(AuthorityFactory):
    """A service provider's designated establishment or legal representative, in a Member
    State taking part in Regulation (EU) 2023/1543, receiving EPOCs and EPOC-PRs."""

    kind = "service_provider"
    country = factory.SubFactory(
        CountryFactory, code="IE", name="Ireland", eio_bound=False, eevidence_bound=True
    )
    time_zone = "Europe/Dublin"
    office_hours = ""
    available_24_7 = True
    provider_name = "Example Mail Ltd"
    provider_services = ["electronic_communications", "information_society"]
    provider_designation = "designated_establishment"
    emergency_phone = "+35315550100"
    emergency_email = "emergency@example-mail.example"

    @factory.post_generation
    def instruments(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        codes = ["epoc", "epoc_pr"] if extracted is None else extracted
        if create and codes:
            AuthorityInstrument.objects.bulk_create(
                [AuthorityInstrument(authority=self, instrument=code) for code in codes]
            )


def service_provider_addressee(
    *, country: Country, languages: list[str] | None = None, **kwargs: object
) -> Authority:
    """A service provider's designated establishment or legal representative in
    ``country``, receiving European Production and Preservation Orders (Regulation (EU)
    2023/1543), accepting ``languages`` (none: its country's apply)."""
    return ServiceProviderFactory(country=country, languages=languages, **kwargs)


class ContactPersonFactory(DjangoModelFactory):
    class Meta:
        model = ContactPerson

    authority = factory.SubFactory(AuthorityFactory)
    name = factory.Faker("name")
    function = "Prosecutor"
    phone = "+40211234567"
    email = factory.Sequence(lambda n: f"contact{n}@example.org")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Ana"
    last_name = "Ionescu"
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    authority = factory.SubFactory(AuthorityFactory)
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        from django.contrib.auth.models import Group

        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=[str(role) for role in extracted]))
            if "directory_administrator" in extracted:
                self.is_staff = True
                self.save(update_fields=["is_staff"])
        if create:
            from mla.accounts.services import user_authority_group_sync

            user_authority_group_sync(user=self)


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = "notifications.Notification"

    recipient = factory.SubFactory(UserFactory)
    kind = "request_received"
    subject = factory.Sequence(lambda n: f"Notification number {n}")
    url = "/requests/"


class OutboxMessageFactory(DjangoModelFactory):
    """A message in the outbox (its sealed bytes are not a real message: for counts)."""

    class Meta:
        model = "exchange.OutboxMessage"

    kind = "status"
    sender = factory.SubFactory(AuthorityFactory)
    recipient = factory.SubFactory(AuthorityFactory)
    sealed = b"sealed"
    manifest_sha256 = "0" * 64
    state = "pending"


class InboxMessageFactory(DjangoModelFactory):
    """A message received (its receipt and manifest are not real ones: for counts)."""

    class Meta:
        model = "exchange.InboxMessage"

    message_id = factory.Faker("uuid4")
    sender = factory.SubFactory(AuthorityFactory)
    recipient = factory.SubFactory(AuthorityFactory)
    kind = "status"
    manifest_sha256 = "0" * 64
    manifest = factory.LazyFunction(dict)
    received_at = factory.LazyFunction(timezone.now)
    receipt = b"receipt"
