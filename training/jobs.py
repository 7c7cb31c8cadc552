"""The job-kind registry: which jobs exist, which queue runs them, what parameters they take.

A kind is a name, a queue (``gpu`` or ``cpu``), a parameter spec and a runner. The runner is a
dotted path (``"training.runners.embed.run"``) imported only inside the worker, so importing
this module (web processes, ``run_job --help``) never imports torch. The built-in kinds are
``training.kinds``, registered by the training app's ``AppConfig.ready()`` (this module does not
import them); other apps add theirs from their own ``ready()``::

    from training.jobs import Param, register_job_kind

    register_job_kind(
        "train_ranker", queue="gpu", runner="recommend.training.run",
        help="Learn the ranker from the search log and events.",
        params=[Param("epochs", int, 30, "passes over the training lists", min=1)],
    )

A runner is ``run(ctx: training.context.JobContext) -> None``: it reads ``ctx.params``, reports
through ``ctx.progress``, polls ``ctx.check_cancel()``, creates versions with
``ctx.create_version(...)`` and ends with ``ctx.finish(version, metrics)``.

A kind whose runner produces model versions declares how they may become active with
``versions=VersionPolicy(metric=...)`` (``training.activation``); such a kind also takes the
generic parameters ``promote_if_better`` and ``analysis`` (added to its spec here).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from training.activation import VersionPolicy

QUEUES = ("gpu", "cpu")
_REQUIRED = object()
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class Param:
    """One job parameter: name, type (int, float, bool or str), default, help and bounds.

    ``default=None`` means optional with no value; omit ``default`` (or pass ``REQUIRED``) for
    a parameter the caller must give. ``choices`` restricts a str parameter. ``label`` is the
    name people read on the launch page ("Batch size"); ``version_of`` marks an int parameter
    that holds a model version id of that task (``"any"``: of every task), which the launch page
    offers as a list of the existing versions.
    """

    name: str
    type: type = str
    default: Any = _REQUIRED
    help: str = ""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    label: str = ""
    version_of: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    @property
    def title(self) -> str:
        """The parameter's name for people: its label, else its name written out."""
        return self.label or self.name.replace("_", " ").capitalize()

    def explain(self) -> str:
        """The launch page's help line: what it does, then its default and bounds in words."""
        text = self.help[:1].upper() + self.help[1:] if self.help else ""
        if text and not text.endswith((".", "?", "!")):
            text += "."
        if self.required:
            extra = "Required."
        elif self.default is None or self.default == "":
            extra = ""
        elif self.type is bool:
            extra = f"Default: {'on' if self.default else 'off'}."
        else:
            extra = f"Default: {self.default}."
        if not self.choices and (self.min is not None or self.max is not None):
            if self.min is not None and self.max is not None:
                extra += f" Between {self.min:g} and {self.max:g}."
            elif self.min is not None:
                extra += f" At least {self.min:g}."
            else:
                extra += f" At most {self.max:g}."
        return f"{text} {extra}".strip()

    def describe(self) -> str:
        """One line for ``run_job --help`` and the admin launch form."""
        default = "required" if self.required else f"default {self.default!r}"
        bounds = ""
        if self.choices:
            bounds = f", one of {'|'.join(self.choices)}"
        elif self.min is not None or self.max is not None:
            lo = "" if self.min is None else f"{self.min:g} ≤ "
            hi = "" if self.max is None else f" ≤ {self.max:g}"
            bounds = f", {lo}value{hi}"
        return f"{self.name} ({self.type.__name__}, {default}{bounds}): {self.help}"

    def convert(self, value: Any) -> Any:
        """Coerce a JSON or command-line value to the parameter's type; raise ValueError."""
        if value is None:
            if self.required:
                raise ValueError("is required")
            return None
        kind = self.type
        if kind is bool:
            if isinstance(value, bool):
                result: Any = value
            elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                result = value.strip().lower() in _TRUE
            elif isinstance(value, int) and value in (0, 1):
                result = bool(value)
            else:
                raise ValueError(f"must be true or false, got {value!r}")
        elif kind is int:
            if isinstance(value, bool):
                raise ValueError(f"must be an integer, got {value!r}")
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            try:
                result = int(value) if isinstance(value, int) else int(str(value).strip())
            except ValueError:
                raise ValueError(f"must be an integer, got {value!r}") from None
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError(f"must be a number, got {value!r}")
            try:
                result = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"must be a number, got {value!r}") from None
        else:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ValueError(f"must be text, got {value!r}")
            result = str(value).strip()
        if self.choices and result not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}, got {result!r}")
        if self.min is not None and result < self.min:
            raise ValueError(f"must be at least {self.min:g}, got {result!r}")
        if self.max is not None and result > self.max:
            raise ValueError(f"must be at most {self.max:g}, got {result!r}")
        return result


REQUIRED = _REQUIRED


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job.

    ``title`` is its name for people ("Embed the catalog"), ``summary`` one sentence on what it
    does (``help`` is the full description), ``scales_with`` the rows its duration grows with
    (a key of ``training.estimates.ROW_COUNTS``: the launch page scales the last run's duration
    by them).
    """

    name: str
    queue: str
    runner: str | Callable[..., Any]
    help: str = ""
    params: tuple[Param, ...] = field(default_factory=tuple)
    validate: Callable[[dict[str, Any]], None] | None = None
    versions: VersionPolicy | None = None
    title: str = ""
    summary: str = ""
    scales_with: str = "events"

    @property
    def display_name(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    @property
    def produces_versions(self) -> bool:
        return self.versions is not None

    def resolve_runner(self) -> Callable[..., Any]:
        if callable(self.runner):
            return self.runner
        module, _, attr = self.runner.rpartition(".")
        return getattr(importlib.import_module(module), attr)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_KINDS: dict[str, JobKind] = {}

# The generic parameters of every kind that produces a version (``versions=`` given): its
# activation, and which rows its training data may hold.
PROMOTE_IF_BETTER = Param(
    "promote_if_better",
    bool,
    False,
    "make the new version active when its deciding metric beats the active version's on the "
    "same split (audited); else an operator promotes it",
    label="Promote if better",
)
ANALYSIS = Param(
    "analysis",
    bool,
    False,
    "a run for analysis (ablation): its version never becomes active",
    label="Analysis run only",
)
EXCLUDE_FLAGGED = Param(
    "exclude_flagged",
    bool,
    False,
    "leave out what the data quality report flagged (products, shoppers and events excluded "
    "from training); recorded in the version's dataset snapshot",
    label="Leave out flagged data",
)
VERSION_PARAMS = (PROMOTE_IF_BETTER, ANALYSIS, EXCLUDE_FLAGGED)


def _with_version_params(params: tuple[Param, ...]) -> tuple[Param, ...]:
    names = {p.name for p in params}
    return params + tuple(p for p in VERSION_PARAMS if p.name not in names)


def _version_rules(params: dict[str, Any]) -> None:
    if params.get("analysis") and params.get("promote_if_better"):
        raise ValidationError(
            {"promote_if_better": ["an analysis run never activates: drop one of the two."]}
        )


def register_job_kind(
    name: str,
    *,
    queue: str,
    runner: str | Callable[..., Any],
    params: Iterable[Param] = (),
    help: str = "",
    validate: Callable[[dict[str, Any]], None] | None = None,
    versions: VersionPolicy | None = None,
    replace: bool = False,
    title: str = "",
    summary: str = "",
    scales_with: str = "events",
) -> JobKind:
    """Add a job kind (idempotent for the same definition; ``replace`` to redefine one).

    ``validate`` receives the converted parameters and may raise ``ValidationError`` for rules
    that involve several parameters or the database. ``versions``: the kind's runner produces a
    model version, activated by that policy (``training.activation``); the kind then takes the
    generic parameters ``promote_if_better``, ``analysis`` and ``exclude_flagged``.
    ``title``, ``summary`` and ``scales_with``: what the launch page shows (see :class:`JobKind`).
    """
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {QUEUES}, got {queue!r}")
    params = tuple(params)
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError(f"job kind {name!r} declares a parameter twice")
    if versions is not None:
        params = _with_version_params(params)
    kind = JobKind(
        name=name,
        queue=queue,
        runner=runner,
        help=help,
        params=params,
        validate=validate,
        versions=versions,
        title=title,
        summary=summary,
        scales_with=scales_with,
    )
    existing = _KINDS.get(name)
    if existing is not None and not replace and existing != kind:
        raise ValueError(f"job kind {name!r} is already registered")
    _KINDS[name] = kind
    return kind


def set_version_policy(name: str, policy: VersionPolicy) -> JobKind:
    """Declare the activation policy of a registered kind (for a kind registered without
    ``versions=``); it gains the generic parameters. Idempotent."""
    kind = get_job_kind(name)
    kind = dataclasses.replace(kind, versions=policy, params=_with_version_params(kind.params))
    _KINDS[name] = kind
    return kind


def job_kinds() -> dict[str, JobKind]:
    """Every registered kind by name, sorted."""
    return dict(sorted(_KINDS.items()))


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValidationError(
            f"Unknown job kind {name!r}. Known kinds: {', '.join(sorted(_KINDS))}.",
            code="unknown_kind",
        ) from None


def validate_params(kind: JobKind, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Converted parameters with defaults filled in; ``ValidationError`` (a dict by parameter)
    lists every problem at once, each with the parameter's description."""
    params = dict(params or {})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(params) - {p.name for p in kind.params})
    for name in unknown:
        known = ", ".join(p.name for p in kind.params) or "none"
        errors[name] = [f"unknown parameter for {kind.name}; its parameters: {known}."]
    result: dict[str, Any] = {}
    for param in kind.params:
        if param.name not in params:
            if param.required:
                errors[param.name] = [f"is required — {param.describe()}"]
                continue
            result[param.name] = param.default
            continue
        try:
            result[param.name] = param.convert(params[param.name])
        except ValueError as exc:
            errors[param.name] = [f"{exc} — {param.describe()}"]
    if errors:
        raise ValidationError(errors)
    if kind.produces_versions:
        _version_rules(result)
    if kind.validate is not None:
        kind.validate(result)
    return result


def parse_cli_params(pairs: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}`` (values converted later by the spec)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--param takes key=value, got {pair!r}.")
        out[key.strip()] = value
    return out


def help_text() -> str:
    """Every kind with its queue and parameters (``run_job --help``, docs)."""
    lines = []
    for kind in job_kinds().values():
        lines.append(f"{kind.name} [{kind.queue} queue]: {kind.help}")
        if not kind.params:
            lines.append("    (no parameters)")
        for param in kind.params:
            lines.append(f"    {param.describe()}")
    return "\n".join(lines)


_EVALUATORS: dict[str, Callable[..., dict[str, Any]]] = {}


def register_evaluator(task: str, evaluator: Callable[..., dict[str, Any]]) -> None:
    """Let the ``evaluate`` job score versions of ``task`` (e.g. the recommend app's ranker):
    ``evaluator(ctx, version, active_version) -> metrics dict``."""
    _EVALUATORS[task] = evaluator


def get_evaluator(task: str) -> Callable[..., dict[str, Any]] | None:
    return _EVALUATORS.get(task)
