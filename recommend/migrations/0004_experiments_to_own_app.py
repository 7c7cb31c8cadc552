"""Experiment, Variant, Assignment and Exposure move to the ``experiments`` app.

State only: the tables stay where they are (the new app's models name them with ``db_table``),
so an existing database migrates without copying a row. ``experiments.0001_initial`` adds the
same models to the new app's state; ``experiments.0002`` renames their content types in place.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('recommend', '0003_experiments'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='experiment',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='experiment',
                    name='shipped_by',
                ),
                migrations.RemoveField(
                    model_name='experiment',
                    name='started_by',
                ),
                migrations.RemoveField(
                    model_name='experiment',
                    name='stopped_by',
                ),
                migrations.RemoveField(
                    model_name='experiment',
                    name='winner',
                ),
                migrations.RemoveField(
                    model_name='variant',
                    name='experiment',
                ),
                migrations.RemoveField(
                    model_name='exposure',
                    name='experiment',
                ),
                migrations.RemoveField(
                    model_name='exposure',
                    name='shopper',
                ),
                migrations.RemoveField(
                    model_name='exposure',
                    name='variant',
                ),
                migrations.RemoveField(
                    model_name='variant',
                    name='strategy',
                ),
                migrations.DeleteModel(
                    name='Assignment',
                ),
                migrations.DeleteModel(
                    name='Experiment',
                ),
                migrations.DeleteModel(
                    name='Exposure',
                ),
                migrations.DeleteModel(
                    name='Variant',
                ),
            ],
            database_operations=[],
        ),
    ]
