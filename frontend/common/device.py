"""The one ``resolve_device``: a device argument (``None``/``"auto"``, ``"cpu"``, ``"cuda[:N]"``) -> ``torch.device``."""
from __future__ import annotations

from typing import Any


def resolve_device(device: Any = None):
    """``torch.device`` for ``device``: None, ``""`` or ``"auto"`` -> CUDA when available, else CPU;
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device`` -> validated.

    Raises ValueError naming the value for another device type, an unparsable string, or CUDA asked
    for where it is not available. torch is imported here (this module itself stays light).
    """
    import torch

    if device is None or (isinstance(device, str) and device.strip().lower() in ("", "auto")):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev
