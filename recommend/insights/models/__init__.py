"""The insight tables, one module per insight; each is re-exported here for Django."""

from recommend.insights.models.profiles import ProfileSnapshot, Segment, ShopperInsight

__all__ = ["ProfileSnapshot", "Segment", "ShopperInsight"]
