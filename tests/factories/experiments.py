"""Factories for the A/B experiments app: experiments and their variants."""

from __future__ import annotations

import factory

from recommend.experiments.models import Experiment, Variant
from tests.factories.recommend import StrategyFactory

__all__ = ["ExperimentFactory", "VariantFactory"]


class ExperimentFactory(factory.django.DjangoModelFactory):
    """A draft experiment on the search surface (add variants with VariantFactory)."""

    class Meta:
        model = Experiment

    name = factory.Sequence(lambda n: f"experiment-{n}")
    surface = "search"
    hypothesis = "The variant's results are more relevant, so more searches end in a click."
    primary_metric = "ctr"


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    experiment = factory.SubFactory(ExperimentFactory)
    key = factory.Sequence(lambda n: f"variant-{n}")
    strategy = factory.SubFactory(StrategyFactory)
    share = 50.0
    is_control = False
