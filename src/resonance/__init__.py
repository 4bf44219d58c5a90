"""Resonance: personal social analytics for the enterprise."""

__version__ = "0.1.0"
