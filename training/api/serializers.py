"""Serializers of the jobs and models endpoints (presentation only: writes go through services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training import selectors
from training.jobs import job_kinds
from training.models import Job, ModelVersion


class JobLaunchSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="A job kind: embed_catalog, finetune_retriever, finetune_classifier, "
        "train_cf, evaluate, or one another app registered."
    )
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="Parameters of the kind (see `manage.py run_job --help`).",
    )

    def validate_kind(self, value: str) -> str:
        if value not in job_kinds():
            raise serializers.ValidationError(
                f"Unknown job kind {value!r}; known: {', '.join(job_kinds())}."
            )
        return value


class JobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
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
