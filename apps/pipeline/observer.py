"""Output observers: how a VO run reports its state to viewers, recorders and loggers.

The run loop calls the methods of an :class:`OutputObserver` as the run progresses (DSO's
"output wrapper" idea). Every method is a no-op here, so an observer overrides only what it
uses. Per frame the run loop calls, in this order:

1. ``on_keyframe`` when the frame became a keyframe,
2. ``on_points`` and ``on_trajectory`` when the map / trajectory changed (may be skipped),
3. ``on_frame`` last: it marks the frame as complete (a viewer renders here),

and ``close()`` once at the end (also after an exception). Arrays passed in belong to the
caller and may be reused after the call returns: observers copy what they keep.

All poses are ``world_from_cam`` ``(4, 4) float64`` (camera -> world, metres up to the
monocular scale); points are in world coordinates; camera axes x right, y down, z forward.
"""
from __future__ import annotations

import logging
from typing import Iterable

import numpy as np

logger = logging.getLogger(__name__)


class OutputObserver:
    """Receives the state of a VO run. All methods are no-ops; override what you need."""

    def on_frame(self, index: int, image: np.ndarray, world_from_cam: np.ndarray,
                 keypoints: np.ndarray | None, status: str) -> None:
        """A frame was processed.

        index: frame index in the sequence (0-based).
        image: (H, W) uint8 grey image of the frame.
        world_from_cam: (4, 4) float64 estimated pose of the frame.
        keypoints: (K, 2) float32/float64 pixel positions (x, y) used by the tracker, or None.
        status: short human-readable tracker state, e.g. "tracking", "initialising", "lost".
        """

    def on_keyframe(self, index: int, world_from_cam: np.ndarray) -> None:
        """Frame ``index`` became a keyframe with pose ``world_from_cam`` (4, 4) float64."""

    def on_points(self, active_xyz: np.ndarray, active_grey: np.ndarray,
                  marginalized_xyz: np.ndarray, marginalized_grey: np.ndarray) -> None:
        """Snapshot of the map (each call replaces the previous one).

        active_xyz: (N, 3) float world positions of the points in the active window.
        active_grey: (N,) uint8 grey value of each active point (its host pixel).
        marginalized_xyz: (M, 3) float world positions of all marginalised points so far.
        marginalized_grey: (M,) uint8 grey values of the marginalised points.
        """

    def on_trajectory(self, world_from_cam: np.ndarray) -> None:
        """Snapshot of the whole estimated trajectory so far, (N, 4, 4) float64 (replaces the previous)."""

    def close(self) -> None:
        """The run ended; release windows/files. Must be safe to call more than once."""


def overrides(observer: OutputObserver, method: str) -> bool:
    """True when ``observer``'s class overrides ``OutputObserver.<method>`` (i.e. it uses that callback)."""
    return getattr(type(observer), method, None) is not getattr(OutputObserver, method)


class CompositeObserver(OutputObserver):
    """Forwards every call to several observers, in order.

    An observer that raises is logged (warning, with the exception) and dropped from the
    list, so that one broken viewer or recorder never stops the run or the other observers.
    ``close()`` is forwarded to every observer, including dropped ones.
    """

    def __init__(self, observers: Iterable[OutputObserver] = ()) -> None:
        self._observers: list[OutputObserver] = []
        self._dropped: list[OutputObserver] = []
        for obs in observers:
            self.add(obs)

    def add(self, observer: OutputObserver) -> None:
        if not isinstance(observer, OutputObserver):
            raise ValueError(f"CompositeObserver: expected an OutputObserver, got {type(observer).__name__}")
        self._observers.append(observer)

    @property
    def observers(self) -> tuple[OutputObserver, ...]:
        """The observers still receiving calls."""
        return tuple(self._observers)

    @property
    def wants_points(self) -> bool:
        """True when an observer still receiving calls overrides ``on_points``.

        The run loop copies the map out of the backend only then: a copy costs time that grows with
        the map, and without a viewer nobody reads it (issue 11, "push, don't poll").
        """
        return any(obs.wants_points if isinstance(obs, CompositeObserver) else overrides(obs, "on_points")
                   for obs in self._observers)

    def _forward(self, method: str, *args) -> None:
        for obs in list(self._observers):
            try:
                getattr(obs, method)(*args)
            except Exception:  # noqa: BLE001 - an observer must never stop the run
                logger.warning("observer %s failed in %s; it is disabled for the rest of the run",
                               type(obs).__name__, method, exc_info=True)
                self._observers.remove(obs)
                self._dropped.append(obs)

    def on_frame(self, index, image, world_from_cam, keypoints, status) -> None:
        self._forward("on_frame", index, image, world_from_cam, keypoints, status)

    def on_keyframe(self, index, world_from_cam) -> None:
        self._forward("on_keyframe", index, world_from_cam)

    def on_points(self, active_xyz, active_grey, marginalized_xyz, marginalized_grey) -> None:
        self._forward("on_points", active_xyz, active_grey, marginalized_xyz, marginalized_grey)

    def on_trajectory(self, world_from_cam) -> None:
        self._forward("on_trajectory", world_from_cam)

    def close(self) -> None:
        for obs in self._observers + self._dropped:
            try:
                obs.close()
            except Exception:  # noqa: BLE001
                logger.warning("observer %s failed in close", type(obs).__name__, exc_info=True)
