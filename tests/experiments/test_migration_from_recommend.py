"""A database created before the experiments moved to their own app migrates with its rows,
the permissions users and groups hold, the labs' grants and the audit rows intact.

The database is taken back to the state before the move (``recommend.0003`` with no
``experiments`` migration applied, the content types named ``recommend.*`` as the old code
created them), filled through the historical models, then migrated forward by ``migrate``
itself (so ``post_migrate`` creates content types and syncs the role groups as in a deployment).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.apps import apps as current_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from courses.models import Lab
from platform_core.models import AuditLog
from recommend.experiments.models import Assignment, Experiment, Exposure, Variant
from tests.factories import LabFactory, UserFactory

MOVED = ("experiment", "variant", "assignment", "exposure")
# Before the move: no experiments migration, recommend at the migration that created the tables.
BEFORE = [("experiments", None), ("recommend", "0003_experiments")]
LAB_GRANTS = [
    "recommend.add_experiment",
    "recommend.change_experiment",
    "recommend.view_experiment",
    "recommend.view_strategy",
    "recommend.add_strategy",
]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return executor


def _latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_rows_permissions_grants_and_audit():
    try:
        executor = _migrate(BEFORE)
        # the state at the previous leaf of every app
        before = [
            (app, name)
            for app, name in executor.loader.graph.leaf_nodes()
            if app not in ("experiments", "recommend")
        ] + [("recommend", "0003_experiments")]
        old = executor.loader.project_state(before).apps
        # Content types of models added to the app since the move (the verdict cache) outlive the
        # migration back; a database from before the move never had them.
        ContentType.objects.filter(app_label="experiments").exclude(model__in=MOVED).delete()
        assert not ContentType.objects.filter(app_label="experiments").exists()
        assert set(
            ContentType.objects.filter(app_label="recommend", model__in=MOVED).values_list(
                "model", flat=True
            )
        ) == set(MOVED)

        OldExperiment = old.get_model("recommend", "Experiment")
        OldVariant = old.get_model("recommend", "Variant")
        OldStrategy = old.get_model("recommend", "Strategy")
        OldShopper = old.get_model("catalog", "Shopper")
        now = datetime(2026, 11, 1, 12, tzinfo=UTC)
        strategy = OldStrategy.objects.create(name="migration-test", surface="search")
        experiment = OldExperiment.objects.create(
            name="fusion weights",
            surface="search",
            hypothesis="h",
            status="running",
            salt="s1",
            started_at=now,
        )
        control = OldVariant.objects.create(
            experiment=experiment, key="control", strategy=strategy, share=50, is_control=True
        )
        treatment = OldVariant.objects.create(
            experiment=experiment, key="treatment", strategy=strategy, share=50
        )
        shopper = OldShopper.objects.create(external_id="shopper-1")
        old.get_model("recommend", "Assignment").objects.create(
            experiment=experiment,
            variant=treatment,
            unit_type="shopper",
            unit_id="shopper-1",
            shopper=shopper,
            assigned_at=now,
        )
        old.get_model("recommend", "Exposure").objects.create(
            experiment=experiment,
            variant=treatment,
            unit_type="shopper",
            unit_id="shopper-1",
            shopper=shopper,
            request_id="req-1",
            timestamp=now,
            latency_ms=3.5,
            result_count=10,
        )
        OldExperiment.objects.filter(pk=experiment.pk).update(winner=treatment)

        # grants as the old code made them: direct, through a group, and a lab's stored list
        change = Permission.objects.get(
            content_type__app_label="recommend", codename="change_experiment"
        )
        view_variant = Permission.objects.get(
            content_type__app_label="recommend", codename="view_variant"
        )
        user = UserFactory(username="holder")
        user.user_permissions.add(change)
        group = Group.objects.create(name="experimenters")
        group.permissions.add(view_variant)
        user.groups.add(group)
        operator = UserFactory(username="op", role="operator")
        assert operator.has_perm("recommend.add_experiment")
        lab = LabFactory(slug="ab-lab", permissions=LAB_GRANTS)
        audit = AuditLog.objects.create(
            action="experiment.start",
            actor_name="holder",
            object_type="recommend.experiment",
            object_id=str(experiment.pk),
            object_repr="fusion weights",
        )

        call_command("migrate", verbosity=0)  # forward, with post_migrate as a deployment runs it
        ContentType.objects.clear_cache()

        # rows intact, reachable through the new app's models
        moved = Experiment.objects.get(pk=experiment.pk)
        assert (moved.name, moved.status, moved.salt, moved.winner_id) == (
            "fusion weights",
            "running",
            "s1",
            treatment.pk,
        )
        assert list(moved.variants.values_list("pk", "key", "is_control")) == [
            (control.pk, "control", True),
            (treatment.pk, "treatment", False),
        ]
        assignment = Assignment.objects.get(experiment=moved)
        assert (assignment.variant_id, assignment.shopper_id) == (treatment.pk, shopper.pk)
        exposure = Exposure.objects.get(request_id="req-1")
        assert (exposure.variant, exposure.result_count, exposure.latency_ms) == (
            Variant.objects.get(pk=treatment.pk),
            10,
            3.5,
        )

        # one content type per moved model, renamed in place (same rows, same permissions)
        for model in MOVED:
            assert (
                ContentType.objects.filter(
                    model=model, app_label__in=("recommend", "experiments")
                ).count()
                == 1
            )
        assert ContentType.objects.get_for_model(Experiment).app_label == "experiments"
        assert (
            Permission.objects.get(
                content_type__app_label="experiments", codename="change_experiment"
            ).pk
            == change.pk
        )
        assert Permission.objects.filter(codename="change_experiment").count() == 1

        user = get_user_model().objects.get(pk=user.pk)  # a fresh object: no permission cache
        assert user.has_perm("experiments.change_experiment")
        assert user.has_perm("experiments.view_variant")  # through the group
        assert not user.has_perm("recommend.change_experiment")
        operator = get_user_model().objects.get(pk=operator.pk)
        assert operator.has_perm("experiments.add_experiment") and operator.has_perm(
            "recommend.add_strategy"
        )

        lab.refresh_from_db()
        assert lab.permissions == [
            "experiments.add_experiment",
            "experiments.change_experiment",
            "experiments.view_experiment",
            "recommend.view_strategy",
            "recommend.add_strategy",
        ]
        from courses.services import lab_permissions

        found, missing = lab_permissions(Lab.objects.get(pk=lab.pk))
        assert missing == [] and len(found) == 5

        audit.refresh_from_db()
        assert audit.object_type == "experiments.experiment"
        assert current_apps.get_model(audit.object_type).objects.get(pk=audit.object_id) == moved
    finally:
        _latest()


def test_the_tables_keep_every_constraint_and_index_the_models_declare(db):
    """The database the old migrations built is what the moved models would create: every
    constraint and index Django would make for them exists under the same name, and the tables
    hold none it would not (apart from the names PostgreSQL gives to inline primary keys, unique
    columns and column checks)."""
    with connection.cursor() as cursor:
        for model in (Experiment, Variant, Assignment, Exposure):
            table = model._meta.db_table
            assert table == f"recommend_{model._meta.model_name}"
            with connection.schema_editor(collect_sql=True) as editor:
                editor.create_model(model)
            sql = "\n".join(editor.collected_sql)
            expected = set(re.findall(r'(?:CONSTRAINT|INDEX) "([^"]+)"', sql))
            existing = set(connection.introspection.get_constraints(cursor, table))
            assert expected <= existing, (table, expected - existing)
            # names PostgreSQL gives to what the column definitions say inline
            inline = {f"{table}_pkey"} | {
                f"{table}_{field.column}_{suffix}"
                for field in model._meta.concrete_fields
                for suffix, applies in (
                    ("key", field.unique and not field.primary_key),
                    ("check", field.db_check(connection) is not None),
                )
                if applies
            }
            assert existing - expected <= inline, (table, existing - expected - inline)


@pytest.mark.django_db(transaction=True)
def test_content_types_created_in_between_are_merged_into_the_renamed_ones():
    """A partial migrate (the new app's state applied, its post_migrate run, the rename not yet):
    the new app's content types already exist. The rename keeps the old rows (the ones users
    hold), hands over the grants made on the new ones, and leaves one content type per model."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    try:
        _migrate(BEFORE)
        old_change = Permission.objects.get(
            content_type__app_label="recommend", codename="change_experiment"
        )
        config = current_apps.get_app_config("experiments")
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)
        new_view = Permission.objects.get(
            content_type__app_label="experiments", codename="view_exposure"
        )
        new_change = Permission.objects.get(
            content_type__app_label="experiments", codename="change_experiment"
        )
        user = UserFactory(username="both")
        user.user_permissions.add(old_change, new_change, new_view)

        call_command("migrate", verbosity=0)
        ContentType.objects.clear_cache()

        for model in MOVED:
            assert (
                ContentType.objects.filter(
                    model=model, app_label__in=("recommend", "experiments")
                ).count()
                == 1
            )
        assert (
            Permission.objects.get(
                content_type__app_label="experiments", codename="change_experiment"
            ).pk
            == old_change.pk
        )
        user = get_user_model().objects.get(pk=user.pk)
        assert user.has_perm("experiments.change_experiment") and user.has_perm(
            "experiments.view_exposure"
        )
        assert user.user_permissions.filter(codename="change_experiment").count() == 1
    finally:
        _latest()
