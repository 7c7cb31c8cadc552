"""The serving path's Redis buffers (see ``platform_core.buffers`` for how they are flushed).

The keys are the ones the first wave used for its plain lists, so a backlog queued before an
upgrade is flushed after it.
"""

from platform_core.buffers import Buffer

SEARCHLOG = Buffer(
    name="searchlog",
    key="aisle:recommend:searchlog-buffer",
    description="Served searches, written to catalog.SearchLog (one row per request id).",
)
EXPOSURE = Buffer(
    name="exposure",
    key="aisle:recommend:exposure-buffer",
    description="Experiment exposures, written to Exposure and first Assignment rows.",
)
