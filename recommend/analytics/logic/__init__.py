"""Plain-Python core of the analytics app (no Django): the attribution rule and the latency
histogram the rollups store."""
