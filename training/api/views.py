"""Staff endpoints: launch, follow and cancel jobs; list model versions with their metrics."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from platform_core.api.exceptions import ApiError
from platform_core.api.permissions import IsStaffWithPerm
from training import services
from training.api.serializers import (
    JobLaunchSerializer,
    JobListQuery,
    JobSerializer,
    ModelVersionQuery,
    ModelVersionSerializer,
)
from training.models import Job, ModelVersion


def _invalid(exc: DjangoValidationError, code: str = "invalid_params") -> ApiError:
    if hasattr(exc, "error_dict"):
        details = {
            name: [m for e in errors for m in e.messages] for name, errors in exc.error_dict.items()
        }
        first = next(iter(details.items()))
        return ApiError(f"{first[0]}: {first[1][0]}", code=code, details=details)
    return ApiError(" ".join(exc.messages), code=getattr(exc, "code", None) or code)


class JobListCreateView(APIView):
    """Launch a job (`training.add_job`) or list recent jobs (`training.view_job`)."""

    permission_classes = [IsStaffWithPerm]
    required_perms = {"POST": ("training.add_job",), "GET": ("training.view_job",)}

    @extend_schema(
        request=JobLaunchSerializer, responses={201: JobSerializer}, summary="Launch a job"
    )
    def post(self, request):
        body = JobLaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                job = services.job_launch(
                    kind=body.validated_data["kind"],
                    params=body.validated_data["params"],
                    user=request.user,
                )
        except DjangoValidationError as exc:
            raise _invalid(exc) from None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=JobSerializer(many=True),
        summary="Recent jobs",
        parameters=[JobListQuery],
    )
    def get(self, request):
        query = JobListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        jobs = Job.objects.select_related("created_by").order_by("-created_at")
        if query.validated_data.get("kind"):
            jobs = jobs.filter(kind=query.validated_data["kind"])
        if query.validated_data.get("status"):
            jobs = jobs.filter(status=query.validated_data["status"])
        return Response(JobSerializer(jobs[:50], many=True).data)


class JobDetailView(APIView):
    """A job with its progress (status, fraction, step, loss, throughput, ETA, heartbeat)."""

    permission_classes = [IsStaffWithPerm]
    required_perms_all = ("training.view_job",)

    @extend_schema(responses=JobSerializer, summary="Job progress")
    def get(self, request, pk: int):
        return Response(
            JobSerializer(get_object_or_404(Job.objects.select_related("created_by"), pk=pk)).data
        )


class JobCancelView(APIView):
    """Cancel a queued job, or ask a running one to stop within one step."""

    permission_classes = [IsStaffWithPerm]
    required_perms_all = ("training.change_job",)

    @extend_schema(
        request=None,
        responses={
            200: JobSerializer,
            409: OpenApiResponse(
                description="The job has already finished (code `finished`): nothing to cancel."
            ),
        },
        summary="Cancel a job",
    )
    def post(self, request, pk: int):
        job = get_object_or_404(Job, pk=pk)
        try:
            job = services.job_cancel(job=job, user=request.user)
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="finished", status_code=409) from None
        return Response(JobSerializer(job).data)


class ModelVersionListView(APIView):
    """Model versions with their metrics, newest first (`?task=` filters)."""

    permission_classes = [IsStaffWithPerm]
    required_perms_all = ("training.view_modelversion",)

    @extend_schema(
        responses=ModelVersionSerializer(many=True),
        summary="Model versions",
        parameters=[ModelVersionQuery],
    )
    def get(self, request):
        query = ModelVersionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        versions = ModelVersion.objects.order_by("-created_at")
        if query.validated_data.get("task"):
            versions = versions.filter(task=query.validated_data["task"])
        if query.validated_data.get("active"):
            versions = versions.filter(is_active=True)
        return Response(ModelVersionSerializer(versions[:200], many=True).data)
