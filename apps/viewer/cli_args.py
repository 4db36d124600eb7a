"""Command-line options of the viewer, shared by ``kp3d-vo run`` and ``kp3d-vo demo``."""
from __future__ import annotations

import argparse

from apps.viewer.open3d_viewer import VIEWS, Open3DViewer, ViewerOptions
from frontend.common.paths import check_output_folder


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 960x540, got {text!r}") from None
    return w, h


def add_viewer_arguments(parser: argparse.ArgumentParser, *, live: bool = True) -> None:
    """Add ``--viewer`` (when ``live``), ``--viewer-record DIR``, ``--viewer-every N``,
    ``--viewer-view {follow,top,free}`` and ``--viewer-size WxH`` to ``parser``."""
    if live:
        parser.add_argument("--viewer", action="store_true",
                            help="live 3D viewer (Open3D) with the image window beside it; keys: F follow, "
                                 "T top, V free view (mouse), Space pause/resume, Q close")
    parser.add_argument("--viewer-record", metavar="DIR",
                        help="render the viewer offscreen and write DIR/frame_%%06d.png")
    parser.add_argument("--viewer-every", type=int, default=1, metavar="N",
                        help="record every N-th frame (default 1)")
    parser.add_argument("--viewer-view", choices=VIEWS, default="follow",
                        help="follow: behind/above the camera (default); top: top-down on the path; "
                             "free: mouse-controlled")
    parser.add_argument("--viewer-size", type=_size, default=(960, 540), metavar="WxH",
                        help="3D view size in pixels (default 960x540; the image panel is added beside it)")


def viewer_from_args(args: argparse.Namespace, *, intrinsics=None, gt_world_from_cam=None) -> Open3DViewer | None:
    """The viewer asked for by the options of :func:`add_viewer_arguments`, or None."""
    record = getattr(args, "viewer_record", None)
    if not (getattr(args, "viewer", False) or record):
        return None
    if record:
        check_output_folder(record, "--viewer-record")  # recording is what was asked: fail now, not mid-run
    width, height = getattr(args, "viewer_size", (960, 540))
    options = ViewerOptions(width=width, height=height, view=getattr(args, "viewer_view", "follow"),
                            record_dir=record, record_every=getattr(args, "viewer_every", 1))
    return Open3DViewer(options, intrinsics=intrinsics, gt_world_from_cam=gt_world_from_cam)
