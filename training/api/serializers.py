"""Serializers of the jobs and models endpoints (presentation only: writes go through services)."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training import selectors
from training.jobs import job_kinds
from training.models import Job, ModelVersion, Task

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _kind_choices() -> list[str]:
    return list(job_kinds())


class JobLaunchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=(),
        help_text="A job kind: embed_catalog, finetune_retriever, finetune_classifier, "
        "train_cf, evaluate, or one another app registered.",
    )
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="Parameters of the kind (see `manage.py run_job --help`): each kind checks its "
        "own names, types and bounds, and some check rules across parameters or against the "
        "data (a 400 `invalid_params` says which, per parameter).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Kinds are registered by apps at start-up: read the registry per instance, so the
        # schema's enum and the validation are the same list.
        kinds = _kind_choices()
        self.fields["kind"].choices = kinds
        self.fields["kind"].error_messages["invalid_choice"] = (
            "Unknown job kind {input!r}; known: " + ", ".join(kinds) + "."
        )

    def validate_params(self, value: dict) -> dict:
        # jsonb (and PostgreSQL text) cannot hold NUL; a lone surrogate is not valid UTF-8
        stack = [value]
        while stack:
            node = stack.pop()
            items = (
                node.items()
                if isinstance(node, dict)
                else enumerate(node)
                if isinstance(node, list)
                else ()
            )
            for key, item in items:
                for text in (key, item):
                    if isinstance(text, str) and _UNSTORABLE.search(text):
                        raise serializers.ValidationError(
                            "Parameters cannot hold a NUL character or a lone surrogate."
                        )
                if isinstance(item, dict | list):
                    stack.append(item)
        return value


class JobListQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=(), required=False, help_text="Only jobs of this kind.")
    status = serializers.ChoiceField(
        choices=Job.Status.values, required=False, help_text="Only jobs in this status."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _kind_choices()


class ModelVersionQuery(serializers.Serializer):
    task = serializers.ChoiceField(
        choices=Task.values, required=False, help_text="Only versions of this task."
    )
    active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only active versions."
    )


class JobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    activation = serializers.CharField(
        read_only=True,
        help_text="What the activation policy did with the job's version: activated, promoted, "
        "kept, or empty (no version yet, or a job that makes none).",
    )
    queue_position = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = (
            "id",
            "kind",
            "status",
            "queue",
            "queue_position",
            "params",
            "progress",
            "step",
            "total_steps",
            "epoch",
            "loss",
            "throughput",
            "eta_seconds",
            "message",
            "heartbeat_at",
            "device",
            "peak_memory_mb",
            "metrics",
            "metrics_history",
            "timings",
            "error",
            "cancel_requested",
            "attempt",
            "retry_of",
            "result_version",
            "activation",
            "activation_reason",
            "schedule",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, job: Job) -> int | None:
        return selectors.job_queue_position(job)


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = (
            "id",
            "task",
            "name",
            "base",
            "parent",
            "job",
            "status",
            "is_active",
            "dimension",
            "hyperparameters",
            "metrics",
            "artifact_dir",
            "created_at",
            "promoted_at",
        )
        read_only_fields = fields
