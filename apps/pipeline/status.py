"""Per-frame status and record of the odometry: one vocabulary for every mode, the summary and observers."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class FrameStatus(enum.StrEnum):
    """State of one input frame, the same in every mode (values are what summary.json stores).

    The backend's names (``dso_bridge.FRAME_STATUSES``, upper case) map onto the first five.
    """

    INITIALIZING = "initializing"  # no reference yet (backend: initialiser running; f2f: first frame)
    TRACKED = "tracked"            # pose estimated
    KEYFRAME = "keyframe"          # pose estimated, frame became a keyframe (backend)
    LOST = "lost"                  # tracking failed; pose extrapolated (f2f: constant velocity)
    RECOVERED = "recovered"        # tracking resumed after a loss (backend)
    SKIPPED = "skipped"            # the frame could not be read; pose = previous frame's

    @classmethod
    def parse(cls, name: str) -> "FrameStatus":
        """Status from a (case-insensitive) name, e.g. the backend's ``"KEYFRAME"``; ValueError otherwise."""
        try:
            return cls(str(name).strip().lower())
        except ValueError:
            raise ValueError(f"unknown frame status {name!r}; expected one of {[s.value for s in cls]}") from None

    @property
    def has_pose(self) -> bool:
        """True when the odometry estimated this frame's pose (tracking had started)."""
        return self in (FrameStatus.TRACKED, FrameStatus.KEYFRAME, FrameStatus.RECOVERED)


@dataclass(frozen=True)
class FrameRecord:
    """One input frame as the odometry saw it."""

    index: int                  # input frame index (0-based, consecutive)
    timestamp: float            # seconds
    status: FrameStatus
    reason: str | None = None   # why a SKIPPED frame could not be read
    # what the estimator reported for the frame (FRAME_LOG_FIELDS, outputs.py's frames.csv); None: nothing
    diagnostics: dict[str, float | int | str] | None = None
