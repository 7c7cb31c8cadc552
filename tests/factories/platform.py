"""Factories for platform_core."""

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from platform_core.alerts import rules_sync
from platform_core.models import Alert, User

__all__ = ["AlertFactory", "UserFactory"]


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; ``role="operator"`` (or analyst / learner) adds them to that group."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@aisle.test")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class AlertFactory(factory.django.DjangoModelFactory):
    """An open alert of the buffer-backlog rule (rule rows come from the registry)."""

    class Meta:
        model = Alert

    rule = factory.LazyFunction(lambda: rules_sync()["buffer_backlog"])
    subject = factory.Sequence(lambda n: f"buffer:test-{n}")
    value = 20_000
    threshold = 10_000
    message = "20000 rows wait in the test buffer."
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)
