"""Helpers for the catalog tests: write a file, run a command and capture its exit status
and output, a small category tree."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


class CommandResult:
    def __init__(self, code: int, out: str):
        self.code, self.out = code, out


@pytest.fixture
def run_command():
    def run(*args) -> CommandResult:
        out = io.StringIO()
        quiet = (
            ("--no-progress",)
            if args[0] in ("import_catalog", "import_events", "export_catalog")
            else ()
        )
        try:
            call_command(*args, *quiet, stdout=out, stderr=io.StringIO())
        except CommandError as exc:
            return CommandResult(exc.returncode, out.getvalue() + str(exc))
        return CommandResult(0, out.getvalue())

    return run


@pytest.fixture
def write(tmp_path):
    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def categories(db):
    from catalog.services.imports import catalog_import_file

    catalog_import_file(
        kind="categories",
        source=b"external_id,name,parent\nshoes,Shoes,\nrunning,Running shoes,shoes\nbags,Bags,\n",
        fmt="csv",
    )
