"""The one pose-array validator (numpy only, light to import), used by the trajectory readers/writers,
the ground truth of sequences, the evaluation, the plots and the viewer.

Poses are ``world_from_cam``: ``(N, 4, 4) float64`` rigid transforms (docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import numpy as np

#: Largest accepted |R^T R - I| entry and |det R - 1| of a pose's rotation. Published trajectory files
#: carry rounding of up to ~1e-4 (KP3D's monodepth2 files); a scaled or reflected matrix is far off.
ROTATION_TOLERANCE = 1e-3


def check_poses(world_from_cam: np.ndarray, name: str = "world_from_cam", *, min_poses: int = 0,
                rigid: bool = False, rotation_tol: float = ROTATION_TOLERANCE) -> np.ndarray:
    """``world_from_cam`` as an ``(N, 4, 4) float64`` array (a view when it already is one).

    Checks the shape, a numeric dtype, N >= ``min_poses`` and finite values; with ``rigid`` also a last
    row of ``[0, 0, 0, 1]`` and rotations in SO(3) within ``rotation_tol`` (orthonormal, det +1).
    Raises ValueError starting with ``name`` (e.g. the file) and naming the first bad pose.
    """
    arr = np.asarray(world_from_cam)
    if arr.ndim != 3 or arr.shape[1:] != (4, 4):
        raise ValueError(f"{name}: expected an (N, 4, 4) array of poses, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if len(arr) < min_poses:
        raise ValueError(f"{name}: trajectory is empty (0 poses)" if len(arr) == 0 else
                         f"{name}: expected at least {min_poses} poses, got {len(arr)}")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr).all(axis=(1, 2))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"{name}: {bad.size} pose(s) contain NaN/inf, first at index {bad[0]}")
    if rigid:
        last_ok = np.isclose(arr[:, 3, :], [0.0, 0.0, 0.0, 1.0], atol=1e-9).all(axis=1)
        if not last_ok.all():
            i = int(np.flatnonzero(~last_ok)[0])
            raise ValueError(f"{name}: pose {i} has last row {arr[i, 3].tolist()}, expected [0, 0, 0, 1]")
        _check_rotations(arr, name, rotation_tol)
    return arr


def _check_rotations(poses: np.ndarray, name: str, tol: float) -> None:
    rot = poses[:, :3, :3]
    ortho = np.abs(np.einsum("nji,njk->nik", rot, rot) - np.eye(3)).max(axis=(1, 2)) if len(rot) else np.zeros(0)
    det = np.linalg.det(rot) if len(rot) else np.zeros(0)
    bad = np.flatnonzero((ortho > tol) | (np.abs(det - 1.0) > tol))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}: pose {i} is not a rigid transform: its rotation has max |R^T R - I| = "
                         f"{ortho[i]:.3g} and det {det[i]:.4g} (expected a rotation matrix: orthonormal, det +1, "
                         f"within {tol:g}); {bad.size} of {len(poses)} poses are off")
