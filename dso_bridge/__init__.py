"""Python bindings of the C++ DS-DSO backend (numpy in, numpy out)."""
from dso_bridge._dso_bridge import version

__all__ = ["version"]
