"""One default strategy per surface, so serving always has something to read."""

from django.db import migrations

DEFAULTS = {
    "search": ("default-search", "Hybrid search: lexical + semantic, RRF, ranker when one is active."),
    "recommendations": ("default-recommendations", "CF, profile embedding, interests, bought-together and trending."),
    "similar": ("default-similar", "Nearest neighbours of the product's vector, plus CF neighbours."),
}


def create_defaults(apps, schema_editor):
    Strategy = apps.get_model("recommend", "Strategy")
    for surface, (name, description) in DEFAULTS.items():
        if Strategy.objects.filter(surface=surface, is_default=True).exists():
            continue
        Strategy.objects.get_or_create(
            name=name, defaults={"surface": surface, "description": description, "is_default": True})


class Migration(migrations.Migration):

    dependencies = [("recommend", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
