"""storydiff: compare how several news outlets cover the same story."""

__version__ = "0.1.0"
