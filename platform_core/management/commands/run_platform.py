"""``make run``: preflight, migrate, bootstrap, then web + workers + beat until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from platform_core import embedded, preflight


class Command(BaseCommand):
    help = "Run the whole platform: web server, Celery workers (default,cpu and gpu) and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-bootstrap", action="store_true")
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2"))
        )

    def handle(self, *args, host, port, no_bootstrap, web_workers, **options):
        try:
            preflight.check_port_free(host, port)
            preflight.check_database()
            preflight.check_redis()
        except preflight.PreflightError as exc:
            raise CommandError(str(exc)) from None

        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not no_bootstrap:
            call_command("platform_bootstrap", stdout=self.stdout)

        python = sys.executable
        bindir = os.path.dirname(python)
        celery = [os.path.join(bindir, "celery"), "-A", "platform_core"]
        commands = {
            "web": [
                os.path.join(bindir, "gunicorn"),
                "platform_core.wsgi",
                # empties the metrics folder at start, marks dead workers (/metrics)
                "--config",
                "python:platform_core.gunicorn_config",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--threads",
                "4",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ],
            "worker-cpu": celery
            + [
                "worker",
                "-Q",
                "default,cpu",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "-n",
                "cpu@%h",
                "--loglevel",
                "INFO",
            ],
            "worker-gpu": celery
            + [
                "worker",
                "-Q",
                "gpu",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "-n",
                "gpu@%h",
                "--loglevel",
                "INFO",
            ],
            # the buffers' flushes and the profile refresh: never behind a long job on cpu
            # (threads: a slow batch of one buffer, or a bulk refresh, does not hold the others)
            "worker-flush": celery
            + [
                "worker",
                "-Q",
                "flush,profiles",
                "--pool",
                "threads",
                "--concurrency",
                "3",
                "-n",
                "flush@%h",
                "--loglevel",
                "WARNING",
            ],
            "beat": celery
            + [
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(settings.DATA_DIR / "celerybeat-schedule"),
            ],
        }
        # the web workers share their metrics through files (prometheus_client multi-process)
        envs = {
            "web": {
                **os.environ,
                "PROMETHEUS_MULTIPROC_DIR": settings.PROMETHEUS_MULTIPROC_DIR
                or str(settings.DATA_DIR / "prometheus"),
            }
        }
        procs: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, cmd in commands.items():
                # Own process group each, so Ctrl-C reaches them only through us, in order.
                procs[name] = subprocess.Popen(cmd, start_new_session=True, env=envs.get(name))
            base = f"http://{host}:{port}"
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nAisle is running.\n  Admin:    {base}/admin/\n  Academy:  {base}/academy/\n"
                    f"  API docs: {base}/api/docs/\n  Ready:    {base}/readyz\nPress Ctrl-C to stop.\n"
                )
            )
            restarts: dict[str, list[float]] = {name: [] for name in commands}
            while not stopping:
                for name, proc in list(procs.items()):
                    if proc.poll() is None:
                        continue
                    # a crashed worker or beat is restarted, like a process supervisor would
                    # (nothing is lost: claimed buffer rows are re-queued, jobs are reaped);
                    # the web server exiting, or a process crashing in a loop, stops everything
                    recent = [t for t in restarts[name] if t > time.time() - 60] + [time.time()]
                    restarts[name] = recent
                    if name == "web" or len(recent) > 3:
                        self.stderr.write(
                            f"{name} exited with status {proc.returncode}; stopping the platform."
                        )
                        stopping = True
                        break
                    self.stderr.write(
                        f"{name} exited with status {proc.returncode}; restarting it."
                    )
                    procs[name] = subprocess.Popen(
                        commands[name], start_new_session=True, env=envs.get(name)
                    )
                time.sleep(0.5)
        finally:
            self.stdout.write("\nStopping web, workers and beat…")
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.time() + 20
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            started = [s for s in os.environ.get("AISLE_SERVICES_STARTED", "").split(",") if s]
            if started and os.environ.get("KEEP_SERVICES") != "1":
                from django.db import connections

                connections.close_all()
                embedded.stop_services()
                self.stdout.write(f"Stopped the embedded {' and '.join(started)} this run started.")
            self.stdout.write("All stopped.")
