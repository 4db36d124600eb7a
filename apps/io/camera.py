"""Pinhole intrinsics for the application code (defined in :mod:`frontend.common.camera`)."""
from frontend.common.camera import Intrinsics

__all__ = ["Intrinsics"]
