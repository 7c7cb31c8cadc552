"""Rollups count the requests and searches with at least one click, add-to-cart or purchase, so
that CTR and conversion are shares of searches (a search with three clicks used to count three).
The rollup marks are reset so that the next run recomputes every day still in the served log;
days older than its retention keep zeros in the new columns (their served requests are gone)."""

from django.db import migrations, models


def recompute_all_days(apps, schema_editor):
    apps.get_model("analytics", "RollupState").objects.update(served_id=0, event_id=0)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_served_log_and_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="queryrollup",
            name="searches_carted",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="queryrollup",
            name="searches_clicked",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="queryrollup",
            name="searches_purchased",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="trafficrollup",
            name="requests_carted",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="trafficrollup",
            name="requests_clicked",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="trafficrollup",
            name="requests_purchased",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(recompute_all_days, migrations.RunPython.noop),
    ]
