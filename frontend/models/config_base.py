"""Shared behaviour of the network config dataclasses: dict/YAML round trip and validation."""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping, Optional, Tuple, TypeVar

from frontend.models.resnet import RESNET_LAYERS

T = TypeVar("T", bound="NetConfig")


@dataclasses.dataclass
class NetConfig:
    """Base of ``KeypointNetConfig``, ``DepthNetConfig`` and ``PoseNetConfig``.

    Subclasses set ``KIND`` ("keypoint", "depth" or "pose") and implement ``check()``.
    ``to_dict()`` includes ``"kind"``; ``from_dict()`` accepts it (and rejects a different kind),
    rejects unknown keys with a message naming them, converts YAML lists to tuples and validates.
    """

    KIND: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                setattr(self, f.name, tuple(value))
        self.check()

    def check(self) -> None:  # pragma: no cover - overridden
        """Raise ``ValueError`` naming the field when a value is out of range."""

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str | None = None) -> T:
        """Config from a mapping: keys and types checked (``frontend.common.typed_config``), then ``check()``.

        where: the source named in errors (e.g. the YAML file); defaults to the class name.
        """
        from frontend.common.typed_config import load_dataclass

        data = dict(data or {})
        kind = data.pop("kind", cls.KIND)
        where = where or cls.__name__
        if kind != cls.KIND:
            raise ValueError(f"{where}: config kind must be {cls.KIND!r}, got {kind!r}")
        return load_dataclass(cls, data, where)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclasses.dataclass
class EncoderNetConfig(NetConfig):
    """A NetConfig whose network has a ResNet encoder: the encoder fields and their validation."""

    encoder_depth: int = 18                 # ResNet depth (10, 18, 34); ignored if encoder_layers is set
    encoder_layers: Optional[Tuple[int, ...]] = None  # explicit blocks per stage, e.g. (1, 1, 2, 1)
    width_mult: float = 1.0                 # encoder channel multiplier (0.5 = light variant)

    def check_encoder(self) -> None:
        """Validate the encoder fields (subclasses call this from ``check()``)."""
        n = type(self).__name__
        require(self.encoder_layers is not None or self.encoder_depth in RESNET_LAYERS, n,
                f"encoder_depth must be one of {sorted(RESNET_LAYERS)}, got {self.encoder_depth}")
        require(self.encoder_layers is None or (len(self.encoder_layers) == 4 and min(self.encoder_layers) >= 1),
                n, f"encoder_layers must be 4 positive ints, got {self.encoder_layers}")
        require(0.0 < self.width_mult <= 4.0, n, f"width_mult must be in (0, 4], got {self.width_mult}")


def require(condition: bool, cls_name: str, message: str) -> None:
    """Raise ``ValueError(f"{cls_name}: {message}")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{cls_name}: {message}")
