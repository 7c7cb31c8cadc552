"""The experiments app takes over Experiment, Variant, Assignment and Exposure from ``recommend``.

State only: the tables, their constraints and indexes were created by
``recommend.0003_experiments`` and keep their names (``db_table`` on each model, the same
constraint and index names), so nothing in the database changes here.
"""

import django.contrib.postgres.fields
import django.core.validators
import django.db.models.deletion
import recommend.experiments.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0004_product_full_sync_permission'),
        ('recommend', '0004_experiments_to_own_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Experiment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120, unique=True)),
                        ('surface', models.CharField(choices=[('search', 'search'), ('recommendations', 'recommendations'), ('similar', 'similar items')], db_index=True, max_length=20)),
                        ('hypothesis', models.TextField(help_text='What you expect and why, e.g. “The fine-tuned retriever finds what shoppers mean, so more searches end in a click.”')),
                        ('primary_metric', models.CharField(choices=[('ctr', 'click-through rate (served lists with a click)'), ('add_to_cart_rate', 'add-to-cart rate (exposed shoppers who added to cart)'), ('conversion_rate', 'conversion rate (exposed shoppers who bought)'), ('revenue_per_shopper', 'revenue per exposed shopper')], default='ctr', max_length=32)),
                        ('guardrails', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(choices=[('ctr', 'click-through rate (served lists with a click)'), ('add_to_cart_rate', 'add-to-cart rate (exposed shoppers who added to cart)'), ('conversion_rate', 'conversion rate (exposed shoppers who bought)'), ('revenue_per_shopper', 'revenue per exposed shopper'), ('zero_result_rate', 'zero-result rate (lower is better)'), ('latency', 'server latency (lower is better)')], max_length=32), blank=True, default=recommend.experiments.models.default_guardrails, help_text='Metrics that must not get significantly worse.', size=None)),
                        ('guardrail_tolerance', models.FloatField(default=0.0, help_text='Relative harm a rate or revenue guardrail may show before it counts as breached (0.05 = 5%).', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)])),
                        ('latency_tolerance', models.FloatField(default=0.5, help_text='Relative latency increase the latency guardrail accepts (0.5 = +50%): a strategy that encodes queries or runs a ranker is expected to cost some time.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('holdout_percent', models.FloatField(default=0.0, help_text='Share of units kept out of the experiment (they get the default strategy). Variant shares plus the holdout must sum to 100.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(99.99)])),
                        ('baseline_rate', models.FloatField(default=0.1, help_text="Today's value of the primary metric as a rate (0.10 = 10%); for revenue, use the conversion rate.", validators=[django.core.validators.MinValueValidator(0.0001), django.core.validators.MaxValueValidator(0.9999)])),
                        ('minimum_detectable_effect', models.FloatField(default=0.1, help_text='Smallest relative change worth detecting (0.10 = +10%).', validators=[django.core.validators.MinValueValidator(0.001), django.core.validators.MaxValueValidator(10)])),
                        ('power', models.FloatField(default=0.8, validators=[django.core.validators.MinValueValidator(0.5), django.core.validators.MaxValueValidator(0.99)])),
                        ('alpha', models.FloatField(default=0.05, help_text='Significance level (two-sided).', validators=[django.core.validators.MinValueValidator(0.001), django.core.validators.MaxValueValidator(0.2)])),
                        ('min_sample_size', models.PositiveIntegerField(default=0, editable=False, help_text='Units per variant the calculator asks for.')),
                        ('sequential', models.BooleanField(default=True, help_text='Always-valid p-values (mSPRT): results may be read at any time. Off: a fixed-horizon test, valid once the planned sample size is reached.')),
                        ('attribution_window_minutes', models.PositiveIntegerField(default=30, help_text='Events without a request id count for the exposure that preceded them within this window.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(10080)])),
                        ('cuped_days', models.PositiveIntegerField(default=14, help_text="CUPED: days before the first exposure used as each shopper's pre-period (0: off).", validators=[django.core.validators.MaxValueValidator(365)])),
                        ('salt', models.CharField(blank=True, editable=False, help_text='Seed of the assignment hash, fixed when the experiment starts.', max_length=64)),
                        ('status', models.CharField(choices=[('draft', 'draft'), ('running', 'running'), ('stopped', 'stopped'), ('shipped', 'shipped')], db_index=True, default='draft', max_length=16)),
                        ('conclusion', models.TextField(blank=True, editable=False, help_text='The verdict recorded when the experiment was stopped or shipped.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('stopped_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('shipped_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('shipped_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('started_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('stopped_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'recommend_experiment',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Variant',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.SlugField(help_text='Returned as `variant` in API responses, e.g. control, treatment.', max_length=40)),
                        ('share', models.FloatField(help_text='Percent of units (with the other variants and the holdout: 100).', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)])),
                        ('is_control', models.BooleanField(default=False)),
                        ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='experiments.experiment')),
                        ('strategy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='variants', to='recommend.strategy')),
                    ],
                    options={
                        'db_table': 'recommend_variant',
                        'ordering': ['experiment', '-is_control', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Exposure',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('unit_type', models.CharField(choices=[('shopper', 'shopper'), ('session', 'session (anonymous)')], max_length=8)),
                        ('unit_id', models.CharField(max_length=128)),
                        ('session', models.CharField(blank=True, max_length=128)),
                        ('request_id', models.CharField(max_length=64, unique=True)),
                        ('timestamp', models.DateTimeField()),
                        ('latency_ms', models.FloatField(default=0)),
                        ('result_count', models.PositiveIntegerField(default=0)),
                        ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exposures', to='experiments.experiment')),
                        ('shopper', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='experiment_exposures', to='catalog.shopper')),
                        ('variant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exposures', to='experiments.variant')),
                    ],
                    options={
                        'db_table': 'recommend_exposure',
                        'ordering': ['-timestamp', '-id'],
                    },
                ),
                migrations.AddField(
                    model_name='experiment',
                    name='winner',
                    field=models.ForeignKey(blank=True, editable=False, help_text='The variant shipped.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='experiments.variant'),
                ),
                migrations.CreateModel(
                    name='Assignment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('unit_type', models.CharField(choices=[('shopper', 'shopper'), ('session', 'session (anonymous)')], max_length=8)),
                        ('unit_id', models.CharField(help_text='Shopper external id, or session id.', max_length=128)),
                        ('assigned_at', models.DateTimeField()),
                        ('shopper', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='experiment_assignments', to='catalog.shopper')),
                        ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='experiments.experiment')),
                        ('variant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='experiments.variant')),
                    ],
                    options={
                        'db_table': 'recommend_assignment',
                        'ordering': ['experiment', 'assigned_at', 'id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='variant',
                    constraint=models.UniqueConstraint(fields=('experiment', 'key'), name='recommend_variant_key_unique'),
                ),
                migrations.AddConstraint(
                    model_name='variant',
                    constraint=models.UniqueConstraint(condition=models.Q(('is_control', True)), fields=('experiment',), name='recommend_variant_one_control'),
                ),
                migrations.AddIndex(
                    model_name='exposure',
                    index=models.Index(fields=['experiment', 'timestamp'], name='recommend_exposure_exp_time'),
                ),
                migrations.AddIndex(
                    model_name='exposure',
                    index=models.Index(fields=['experiment', 'shopper', 'timestamp'], name='recommend_exposure_shopper'),
                ),
                migrations.AddConstraint(
                    model_name='experiment',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'running')), fields=('surface',), name='recommend_one_running_experiment_per_surface'),
                ),
                migrations.AddConstraint(
                    model_name='experiment',
                    constraint=models.CheckConstraint(condition=models.Q(('holdout_percent__gte', 0), ('holdout_percent__lt', 100)), name='recommend_experiment_holdout_range'),
                ),
                migrations.AddIndex(
                    model_name='assignment',
                    index=models.Index(fields=['shopper'], name='recommend_assignment_shopper'),
                ),
                migrations.AddConstraint(
                    model_name='assignment',
                    constraint=models.UniqueConstraint(fields=('experiment', 'unit_type', 'unit_id'), name='recommend_assignment_unique_unit'),
                ),
            ],
            database_operations=[],
        ),
    ]
