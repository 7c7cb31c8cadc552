"""The curriculum as data: academy_load (validate, upsert, idempotent), academy_export (round
trip), and the first-run bootstrap."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from courses import bootstrap, services
from courses.curriculum_format import read_curriculum
from courses.models import Course, Lab, LearningPath, Lesson, Module, Question, Quiz
from courses.rendering import word_count

pytestmark = pytest.mark.django_db

SHIPPED = Path(bootstrap.CURRICULUM_DIR)


def _load(path=SHIPPED, *args) -> str:
    out = io.StringIO()
    call_command("academy_load", str(path), *args, stdout=out)
    return out.getvalue()


def test_shipped_curriculum_loads_completely():
    output = _load()
    assert "created 5 courses" in output
    assert (Course.objects.count(), Module.objects.count(), Lesson.objects.count()) == (5, 19, 47)
    assert (
        Quiz.objects.count() == 19
        and Lab.objects.count() == 11
        and LearningPath.objects.count() == 3
    )
    assert set(Lab.objects.values_list("check_name", flat=True)) == {
        "retriever_beats_active",
        "intent_classifier_f1",
        "experiment_shipped_winner",
        "catalog_import_fixed",
        "zero_result_query_fixed",
        "data_value_most_valuable",
        "sentiment_spike_named",
        "dead_letters_recovered",
        "quantized_within_tolerance",
        "copy_drafts_reviewed",
        "visual_search_found",
    }
    assert {p.role for p in LearningPath.objects.all()} == {"merchandiser", "analyst", "developer"}
    for path in LearningPath.objects.all():
        assert path.steps.count() == 5
    short = [lesson.slug for lesson in Lesson.objects.all() if word_count(lesson.body) < 300]
    assert short == []  # every lesson carries at least 300 words of teaching text
    kinds = set(Question.objects.values_list("kind", flat=True))
    assert kinds == {"single", "multiple", "ordering"}
    first = Course.objects.get(slug="language-models-for-commerce")
    assert list(first.modules.values_list("slug", flat=True)) == [
        "pretrained-models",
        "embeddings",
        "fine-tuning-the-retriever",
    ]


def test_loading_twice_changes_nothing():
    _load()
    output = _load()
    assert "created nothing; updated nothing; deleted nothing" in output
    assert Lesson.objects.count() == 47


def test_export_round_trip(tmp_path):
    _load()
    lesson = Lesson.objects.get(slug="cosine-similarity")
    lesson.body += "\n\nAn edit made in the admin.\n"
    lesson.save()
    call_command("academy_export", str(tmp_path / "out"), stdout=io.StringIO())
    exported, _ = read_curriculum(tmp_path / "out")
    original, _ = read_curriculum(SHIPPED)
    # Same documents except for the admin edit, which the export carries.
    edited = [
        m
        for c in exported.courses
        for m in c.modules
        for x in m.lessons
        if x.slug == "cosine-similarity"
    ]
    assert edited and "An edit made in the admin." in edited[0].lessons[1].body
    edited[0].lessons[1].body = (
        edited[0].lessons[1].body.replace("\n\nAn edit made in the admin.\n", "")
    )
    assert exported == original
    assert (
        tmp_path / "out/01-language-models-for-commerce/02-embeddings/02-cosine-similarity.md"
    ).exists()
    # Loading the export back into the database it came from changes nothing.
    assert "created nothing; updated nothing" in _load(tmp_path / "out")


def test_reload_updates_and_prune_deletes(tmp_path):
    work = tmp_path / "curriculum"
    shutil.copytree(SHIPPED, work)
    _load(work)
    lesson_file = next((work / "02-search-and-recommendation" / "01-retrieval").glob("01-*.md"))
    lesson_file.write_text(lesson_file.read_text().replace("minutes: ", "minutes: 1", 1))
    (work / "02-search-and-recommendation" / "01-retrieval" / "03-hybrid-search-rrf.md").unlink()
    output = _load(work)
    assert (
        "updated 1 lessons" in output and Lesson.objects.filter(slug="hybrid-search-rrf").exists()
    )
    output = _load(work, "--prune")
    assert (
        "deleted 1 lessons" in output
        and not Lesson.objects.filter(slug="hybrid-search-rrf").exists()
    )


def test_invalid_curriculum_is_refused_with_file_names(tmp_path):
    work = tmp_path / "curriculum"
    shutil.copytree(SHIPPED, work)
    module = work / "01-language-models-for-commerce" / "02-embeddings" / "module.yaml"
    module.write_text(module.read_text().replace("correct: [", "correct: [9, ", 1))
    lab_module = work / "03-data-and-experiments" / "02-data-quality-and-value" / "module.yaml"
    lab_module.write_text(
        lab_module.read_text().replace("check: catalog_import_fixed", "check: no_such_check")
    )
    lesson = next((work / "03-data-and-experiments" / "01-shoppers-and-products").glob("01-*.md"))
    lesson.write_text(lesson.read_text().replace("title:", "titel:", 1))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("academy_load", str(work), stdout=io.StringIO(), stderr=err)
    messages = err.getvalue()
    assert (
        "01-language-models-for-commerce/02-embeddings/module.yaml: quiz question 1: correct index out of range"
        in messages
    )
    assert (
        "03-data-and-experiments/02-data-quality-and-value/module.yaml: lab.check 'no_such_check' is not a registered check"
        in messages
    )
    assert (
        f"03-data-and-experiments/01-shoppers-and-products/{lesson.name}: title is required"
        in messages
    )
    assert Course.objects.count() == 0


def test_bootstrap_loads_only_when_there_are_no_courses():
    out = io.StringIO()

    class Style:
        SUCCESS = ERROR = staticmethod(lambda s: s)

    bootstrap.run(stdout=out, style=Style)
    assert "loaded the curriculum" in out.getvalue() and Course.objects.count() == 5
    Course.objects.filter(slug="data-and-experiments").update(title="Renamed in the admin")
    bootstrap.run(stdout=out, style=Style)
    assert "not reloaded" in out.getvalue()
    assert Course.objects.get(slug="data-and-experiments").title == "Renamed in the admin"


def test_lab_groups_hold_the_lab_permissions():
    _load()
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="lab:import-fix-rejected-rows")
    names = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }
    assert {"catalog.add_product", "catalog.view_importrun", "catalog.view_category"} <= names
    assert (
        services.lab_group_name(Lab.objects.get(slug="import-fix-rejected-rows"))
        == "lab:import-fix-rejected-rows"
    )
