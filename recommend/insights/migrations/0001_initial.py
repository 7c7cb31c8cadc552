from django.db import migrations


class Migration(migrations.Migration):
    """The app's first migration: the insight tables arrive in the migrations that follow."""

    initial = True
    dependencies: list = []
    operations: list = []
