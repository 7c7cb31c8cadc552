"""Admin of the training app, one module per page: model versions (compare, promote, roll back),
jobs (live progress, cancel, retry, launch form) and job notices, job schedules (scheduled
retraining and its history), data-value reports, query labels and the labelling
page. Every write calls a service. Importing the modules registers their pages."""

from training.admin import data_value, jobs, query_labels, schedules, versions

__all__ = ["data_value", "jobs", "query_labels", "schedules", "versions"]
