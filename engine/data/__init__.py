"""Market data: Panel/Dataset schema, validation, and sources (embedded, synthetic, csv/parquet, online)."""
from engine.data.panel import Dataset, Panel, validate_panel

__all__ = ["Dataset", "Panel", "validate_panel"]
