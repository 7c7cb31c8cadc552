# A generated column cannot be altered in place (Django refuses; PostgreSQL 16 cannot change a
# generation expression): the full-text column and its GIN index are dropped and added again
# with the segmented words (search_text, the 'simple' configuration) in the expression.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0002_support_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="passage",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RemoveIndex(model_name="passage", name="knowledge_passage_fts"),
        migrations.RemoveField(model_name="passage", name="search_vector"),
        migrations.AddField(
            model_name="passage",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.CombinedSearchVector(
                        django.contrib.postgres.search.SearchVector(
                            "heading", config="english", weight="A"
                        ),
                        "||",
                        django.contrib.postgres.search.SearchVector(
                            "text", config="english", weight="B"
                        ),
                        django.contrib.postgres.search.SearchConfig("english"),
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector(
                        "search_text", config="simple", weight="B"
                    ),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="passage",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="knowledge_passage_fts"
            ),
        ),
    ]
