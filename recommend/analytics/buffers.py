"""The served-request buffer (flushed by ``recommend.tasks.flush_served``)."""

from platform_core.buffers import Buffer

SERVED = Buffer(
    name="served",
    key="aisle:analytics:served-buffer",
    description="Served responses of every endpoint, written to analytics.ServedRequest.",
)
