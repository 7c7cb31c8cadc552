"""The job-kind registry, parameter validation, ``run_job`` and the beat tasks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from tests import factories
from training import jobs, services, tasks
from training.jobs import Param, get_job_kind, parse_cli_params, register_job_kind, validate_params
from training.models import Job, Task

BUILTIN = ("embed_catalog", "finetune_retriever", "finetune_classifier", "train_cf", "evaluate")


def test_builtin_kinds_and_their_queues():
    kinds = jobs.job_kinds()
    assert set(BUILTIN) <= set(kinds)
    assert kinds["train_cf"].queue == "cpu"
    assert {kinds[k].queue for k in BUILTIN if k != "train_cf"} == {"gpu"}


@pytest.mark.parametrize(
    "raw, expected", [("true", True), ("0", False), ("Yes", True), (False, False)]
)
def test_bool_params_accept_command_line_spellings(raw, expected):
    assert (
        validate_params(get_job_kind("embed_catalog"), {"incremental": raw})["incremental"]
        is expected
    )


def test_validation_lists_every_problem_with_the_parameters_description():
    with pytest.raises(ValidationError) as caught:
        validate_params(
            get_job_kind("finetune_retriever"),
            {"mode": "qlora", "epochs": "two", "batch_size": 1, "colour": "red"},
        )
    errors = {
        k: " ".join(m for e in v for m in e.messages) for k, v in caught.value.error_dict.items()
    }
    assert (
        "must be one of full, lora" in errors["mode"]
        and "full fine-tuning or a LoRA adapter" in errors["mode"]
    )
    assert "must be an integer, got 'two'" in errors["epochs"]
    assert "at least 2" in errors["batch_size"]
    assert "unknown parameter" in errors["colour"] and "base_version" in errors["colour"]
    with pytest.raises(ValidationError, match="Unknown job kind 'nope'"):
        get_job_kind("nope")


def test_defaults_are_filled_and_values_converted():
    params = validate_params(get_job_kind("train_cf"), {"factors": "8", "alpha": "2.5"})
    assert (
        params["factors"] == 8
        and params["alpha"] == 2.5
        and params["iterations"] == 15
        and params["days"] is None
    )


def test_cli_param_parsing():
    assert parse_cli_params(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ValidationError, match="key=value"):
        parse_cli_params(["oops"])


def test_other_apps_register_kinds_and_a_conflicting_redefinition_is_refused():
    def runner(ctx):
        return None

    kind = register_job_kind(
        "test_extra",
        queue="cpu",
        runner=runner,
        params=[Param("n", int, 3, "how many")],
        help="a test kind",
    )
    assert (
        register_job_kind(
            "test_extra",
            queue="cpu",
            runner=runner,
            params=[Param("n", int, 3, "how many")],
            help="a test kind",
        )
        == kind
    )
    with pytest.raises(ValueError, match="already registered"):
        register_job_kind("test_extra", queue="gpu", runner=runner)
    with pytest.raises(ValueError, match="queue"):
        register_job_kind("test_bad_queue", queue="tpu", runner=runner)
    assert "test_extra [cpu queue]: a test kind" in jobs.help_text()
    assert "n (int, default 3): how many" in jobs.help_text()


def test_run_job_help_lists_every_kind_with_params_types_and_defaults():
    out = subprocess.run(
        [sys.executable, "manage.py", "run_job", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for kind in BUILTIN:
        assert f"{kind} [" in out
    assert "incremental (bool, default False)" in out
    assert "mode (str, default 'full', one of full|lora)" in out
    assert "task (str, required, one of intent|sentiment)" in out
    assert "factors (int, default 64" in out


@pytest.mark.django_db
def test_run_job_refuses_bad_params_with_a_clear_message():
    with pytest.raises(CommandError) as caught:
        call_command("run_job", "train_cf", "--param", "factors=lots", "--param", "wat=1")
    message = str(caught.value)
    assert (
        "factors: must be an integer, got 'lots'" in message and "wat: unknown parameter" in message
    )
    assert "run_job --help" in message
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_run_job_inline_wait_trains_cf_and_exits_zero(capsys, operator_user):
    factories.build_training_store(per_category=4, shoppers=12, sessions=6)
    call_command(
        "run_job",
        "train_cf",
        "--param",
        "factors=4",
        "--param",
        "iterations=2",
        "--inline",
        "--user",
        operator_user.username,
    )
    out = capsys.readouterr().out
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED and job.created_by == operator_user
    assert f"Job #{job.pk} succeeded" in out and "recall@20" in out
    assert job.result_version.task == Task.CF


@pytest.mark.django_db
def test_run_job_wait_exits_non_zero_when_the_job_fails(operator_user):
    with pytest.raises(CommandError, match="failed: .*training pairs"):
        call_command("run_job", "finetune_retriever", "--param", "device=cpu", "--inline")
    assert Job.objects.get().status == Job.Status.FAILED


@pytest.mark.django_db
def test_beat_tasks_reap_and_queue_incremental_embedding(django_capture_on_commit_callbacks):
    assert tasks.reap_stale_jobs() == []
    assert tasks.embed_incremental() is None  # no served retriever yet
    factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    factories.ProductFactory()
    with django_capture_on_commit_callbacks() as queued:
        job_id = tasks.embed_incremental()
    job = Job.objects.get(pk=job_id)
    assert job.kind == "embed_catalog" and job.params["incremental"] is True and len(queued) == 1
    assert tasks.embed_incremental() is None  # one is already queued
    services.job_cancel(job=job)
    assert tasks.embed_incremental() is not None


def test_judged_csv_must_live_under_data_dir(settings, tmp_path):
    outside = tmp_path / "relevance.csv"
    outside.write_text("query,product_id,grade\n")
    kind = get_job_kind("evaluate")
    with pytest.raises(ValidationError, match="under DATA_DIR"):
        validate_params(kind, {"version": 1, "judged_csv": str(outside)})
    with pytest.raises(ValidationError, match="does not exist"):
        validate_params(kind, {"version": 1, "judged_csv": "demo/missing.csv"})
    inside = settings.DATA_DIR / "judged" / "relevance.csv"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_text("query,product_id,grade\n")
    params = validate_params(kind, {"version": 1, "judged_csv": "judged/relevance.csv"})
    assert params["judged_csv"] == str(inside.resolve())
