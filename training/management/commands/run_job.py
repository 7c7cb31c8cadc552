"""``manage.py run_job KIND [--param key=value ...] [--wait]``: launch a training job."""

from __future__ import annotations

import argparse
import sys
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.db import transaction

from training import selectors, services
from training.jobs import help_text, job_kinds, parse_cli_params
from training.models import Job


class _Formatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the kind list's line breaks."""


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(
            f"  {name}: {'; '.join(m for e in errors for m in e.messages)}"
            for name, errors in exc.error_dict.items()
        )
    return "\n".join(exc.messages)


class Command(BaseCommand):
    help = "Launch a training job on its Celery queue (or in this process with --inline)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _Formatter
        parser.epilog = "Job kinds and their parameters (--param key=value):\n\n" + help_text()
        return parser

    def add_arguments(self, parser):
        parser.add_argument("kind", help="job kind: " + ", ".join(job_kinds()))
        parser.add_argument(
            "--param",
            "-p",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a job parameter; repeatable",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="show a progress bar until the job ends; exit 0 only if it succeeded",
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="run the job in this process instead of a worker (implies --wait)",
        )
        parser.add_argument("--user", default=None, help="username recorded as the launcher")
        parser.add_argument(
            "--timeout", type=float, default=None, help="with --wait: give up after N seconds"
        )

    def handle(self, *args, kind, param, wait, inline, user, timeout, **options):
        launcher = None
        if user:
            launcher = get_user_model().objects.filter(username=user).first()
            if launcher is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            params = parse_cli_params(param)
            with transaction.atomic():
                job = services.job_launch(kind=kind, params=params, user=launcher)
        except ValidationError as exc:
            raise CommandError(
                f"Invalid job:\n{validation_message(exc)}\n\nSee `manage.py run_job --help`."
            ) from None
        self.stdout.write(f"Job #{job.pk} ({job.kind}) queued on '{job.queue}' with {job.params}")
        if inline:
            services.job_run(job_id=job.pk)
            wait = True
        if not wait:
            return
        job = self._wait(job, timeout)
        self._report(job)

    def _wait(self, job: Job, timeout: float | None) -> Job:
        from tqdm import tqdm

        started = time.monotonic()
        bar = tqdm(
            total=1000,
            unit="‰",
            file=sys.stderr,
            dynamic_ncols=True,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
        )
        try:
            while True:
                job.refresh_from_db()
                if job.status == Job.Status.QUEUED:
                    bar.set_description_str(
                        f"#{job.pk} queued (position {selectors.job_queue_position(job)})"
                    )
                else:
                    bar.set_description_str(f"#{job.pk} {job.status}")
                bar.n = int(job.progress * 1000)
                postfix = [job.message[:40]] if job.message else []
                if job.loss is not None:
                    postfix.append(f"loss {job.loss:.4f}")
                if job.throughput:
                    postfix.append(f"{job.throughput:,.0f}/s")
                bar.set_postfix_str(" ".join(postfix), refresh=False)
                bar.refresh()
                if job.status not in (Job.Status.QUEUED, Job.Status.RUNNING):
                    return job
                if timeout is not None and time.monotonic() - started > timeout:
                    raise CommandError(
                        f"Gave up waiting after {timeout:g} s; job #{job.pk} is still {job.status}."
                    )
                time.sleep(1.0)
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped waiting; job #{job.pk} goes on. Cancel it with the admin or "
                f"POST /api/v1/jobs/{job.pk}/cancel."
            ) from None
        finally:
            bar.close()

    def _report(self, job: Job) -> None:
        if job.status == Job.Status.SUCCEEDED:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Job #{job.pk} succeeded in {job.timings.get('total_s', 0):.1f} s "
                    f"on {job.device or 'cpu'}."
                )
            )
            if job.result_version_id:
                self.stdout.write(f"Version: #{job.result_version_id}")
            for key, value in (job.metrics or {}).items():
                self.stdout.write(f"  {key}: {value}")
            return
        last = (job.error.strip().splitlines() or [job.message or job.status])[-1]
        raise CommandError(f"Job #{job.pk} {job.status}: {last}")
