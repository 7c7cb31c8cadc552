"""Extension points of ``shopper_forget`` / ``shopper_export`` for other apps' per-shopper rows.

An app that stores rows about a shopper registers in its ``AppConfig.ready()``::

    from catalog import privacy

    def forget_assignments(ctx: privacy.ForgetContext) -> dict[str, int]:
        qs = Assignment.objects.filter(shopper_external_id=ctx.shopper.external_id)
        if ctx.replacement is None:                       # mode "delete"
            return {"experiment_assignments": qs.delete()[0]}
        return {"experiment_assignments": qs.update(shopper_external_id=ctx.replacement.external_id)}

    privacy.register_forget_hook(forget_assignments)
    privacy.register_export_section("experiments", lambda shopper: [...])

Forget hooks run inside the forget transaction, before the catalog deletes or re-assigns the
shopper's events and deletes the Shopper row (rows with a CASCADE foreign key to Shopper go with
it and need no hook, unless they must survive anonymisation). Export sections return
JSON-serialisable data, stored under their name in the export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.models import Shopper


@dataclass(frozen=True)
class ForgetContext:
    """The shopper being forgotten; ``replacement`` is the anonymous shopper that inherits the
    events in ``anonymise`` mode (None in ``delete`` mode)."""

    shopper: Shopper
    mode: str
    replacement: Shopper | None = None


def subject_ref(external_id: str) -> str:
    """How the audit log names a forgotten shopper: a hash, so the log keeps no personal id."""
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()[:16]


ForgetHook = Callable[[ForgetContext], "dict[str, int] | None"]
ExportSection = Callable[["Shopper"], Any]

FORGET_HOOKS: list[ForgetHook] = []
EXPORT_SECTIONS: list[tuple[str, ExportSection]] = []


def register_forget_hook(hook: ForgetHook) -> None:
    """Add a hook once (``ready()`` may run more than once in tests)."""
    if hook not in FORGET_HOOKS:
        FORGET_HOOKS.append(hook)


def register_export_section(name: str, collect: ExportSection) -> None:
    """Add (or replace) the export section ``name``."""
    EXPORT_SECTIONS[:] = [(n, c) for n, c in EXPORT_SECTIONS if n != name]
    EXPORT_SECTIONS.append((name, collect))
