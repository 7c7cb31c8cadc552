"""Experiments attribute events by the one rule of the analytics (docs/analytics.md): an event
counts for an exposure when it carries the exposure's request id, or when the exposure's request
is the latest of the event's session within 30 minutes that showed the event's product. Each
planted unit below is a case where that rule and the old experiments-only rule (the unit's latest
exposure within the window, whatever it showed, in any session of the shopper) disagree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from catalog.models import Event, Shopper
from recommend.analytics import rollups
from recommend.analytics.models import ServedRequest
from recommend.experiments import services
from recommend.experiments.logic.assignment import assign
from recommend.experiments.models import Exposure
from recommend.experiments.selectors import clear_running_cache, experiment_results
from recommend.experiments.services import VariantSpec
from recommend.models import Strategy
from tests.factories import ProductFactory, StrategyFactory

pytestmark = pytest.mark.django_db
T = datetime(2026, 5, 1, 12, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    clear_running_cache()
    yield
    clear_running_cache()


def _experiment(operator):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()
    base = Strategy.objects.get(surface="search", is_default=True)
    other = StrategyFactory(name="attr-b", surface="search")
    experiment = services.experiment_create(
        name="attribution",
        surface="search",
        hypothesis="h",
        primary_metric="ctr",
        actor=operator,
        salt="salt-attribution",
        variants=[VariantSpec("control", base, 50, True), VariantSpec("treatment", other, 50)],
    )
    services.experiment_start(experiment=experiment, actor=operator)
    experiment.refresh_from_db()
    return experiment


def _shoppers(experiment, variant: str, n: int) -> list[Shopper]:
    """``n`` new shoppers whose unit the experiment assigns to ``variant``."""
    found, i = [], 0
    while len(found) < n:
        external = f"{variant}-{i}"
        i += 1
        if assign(experiment.salt, external, [("control", 50), ("treatment", 50)]) == variant:
            found.append(Shopper.objects.create(external_id=external))
    return found


class Planter:
    def __init__(self, experiment):
        self.experiment = experiment
        self.variants = {v.key: v for v in experiment.variants.all()}
        self.n = 0

    def serve(self, shopper, session, at, shown, *, variant=None, endpoint="search") -> str:
        """A served request (and its exposure when ``variant`` is given); returns its id."""
        self.n += 1
        request_id = f"r{self.n}"
        ServedRequest.objects.create(
            request_id=request_id,
            endpoint=endpoint,
            surface=endpoint,
            shopper=shopper,
            session=session,
            shown=[p.pk for p in shown],
            result_count=len(shown),
            timestamp=at,
        )
        if variant:
            Exposure.objects.create(
                experiment=self.experiment,
                variant=self.variants[variant],
                unit_type="shopper",
                unit_id=shopper.external_id,
                shopper=shopper,
                session=session,
                request_id=request_id,
                timestamp=at,
                result_count=len(shown),
            )
        return request_id

    def event(self, shopper, session, at, product, kind="click", request_id="", value=0):
        self.n += 1
        return Event.objects.create(
            event_id=f"e{self.n}",
            shopper=shopper,
            session=session,
            product=product,
            type=kind,
            request_id=request_id,
            value=value,
            timestamp=at,
        )


def test_experiment_results_attribute_events_by_the_one_rule(operator_user):
    experiment = _experiment(operator_user)
    p1, p2 = ProductFactory(external_id="p-1"), ProductFactory(external_id="p-2")
    plant = Planter(experiment)
    shown, other_product, other_session, later_request, by_id = _shoppers(experiment, "control", 5)

    # counts under both rules: a click on the shown product, same session, 5 minutes later
    plant.serve(shown, "s-shown", T, [p1], variant="control")
    plant.event(shown, "s-shown", T + 5 * MIN, p1)
    # a click on a product the exposure did not show: no longer attributed
    plant.serve(other_product, "s-other-product", T, [p1], variant="control")
    plant.event(other_product, "s-other-product", T + 5 * MIN, p2)
    # the same shopper, another session: no longer attributed
    plant.serve(other_session, "s-first", T, [p1], variant="control")
    plant.event(other_session, "s-second", T + 5 * MIN, p1)
    # a later request of the session (no experiment's) showed the product too: the click is its
    plant.serve(later_request, "s-later", T, [p1], variant="control")
    plant.serve(later_request, "s-later", T + 10 * MIN, [p1, p2], endpoint="similar")
    plant.event(later_request, "s-later", T + 15 * MIN, p1)
    # carrying the request id counts, whatever the product and however late (rule 1)
    rid = plant.serve(by_id, "s-by-id", T, [p1], variant="control")
    plant.event(by_id, "s-by-id", T + 3 * 60 * MIN, p2, request_id=rid)
    plant.event(by_id, "s-by-id", T + 3 * 60 * MIN, p2, kind="purchase", value=30, request_id=rid)

    for shopper in _shoppers(experiment, "treatment", 2):
        plant.serve(shopper, f"s-{shopper.pk}", T, [p1], variant="treatment")

    control = experiment_results(experiment).analysis.control
    assert control.exposures == 5
    assert control.values["ctr"] == pytest.approx(2 / 5)  # "shown" and "by_id" only
    assert control.values["conversion_rate"] == pytest.approx(1 / 5)
    assert control.values["revenue_per_shopper"] == pytest.approx(30 / 5)


def test_experiments_and_the_rollups_credit_the_same_requests(operator_user):
    """The experiment's clicks are the clicks the analytics attribute to its exposures."""
    experiment = _experiment(operator_user)
    p1, p2 = ProductFactory(external_id="p-1"), ProductFactory(external_id="p-2")
    plant = Planter(experiment)
    exposed = set()
    for i, shopper in enumerate(_shoppers(experiment, "control", 6)):
        session = f"s{i}"
        at = T + i * 7 * MIN
        exposed.add(plant.serve(shopper, session, at, [p1, p2][: 1 + i % 2], variant="control"))
        if i % 3 == 0:
            plant.serve(shopper, session, at + 4 * MIN, [p2], endpoint="recommendations")
        plant.event(shopper, session, at + (i * 6 + 1) * MIN, [p1, p2][i % 2])
    for shopper in _shoppers(experiment, "treatment", 1):
        plant.serve(shopper, "s-t", T, [p1], variant="treatment")

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT request_id FROM ({rollups.ATTRIBUTED_SQL}) x WHERE type = 'click'",
            {"a": T - timedelta(days=1), "b": T + timedelta(days=1)},
        )
        credited = [rid for (rid,) in cursor.fetchall() if rid in exposed]
    control = experiment_results(experiment).analysis.control
    assert 0 < len(credited) < 6  # the plant has both kinds of click
    assert control.values["ctr"] == pytest.approx(len(credited) / 6)
