"""Factories for platform_core."""

import factory
from django.contrib.auth.models import Group

from platform_core.models import User

__all__ = ["UserFactory"]


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
