"""Atomic file writes for the application code (defined in :mod:`frontend.common.atomic`)."""
from frontend.common.atomic import atomic_open, atomic_write_bytes, atomic_write_text

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text"]
