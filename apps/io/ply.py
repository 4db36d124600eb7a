"""Point clouds as PLY files (binary little-endian), readable by Open3D, MeshLab, CloudCompare.

:func:`write_ply` writes one ``vertex`` element with ``float x, y, z`` (``double`` with
``double=True``) and, when colours are given, ``uchar red, green, blue`` (grey values are written
as equal red/green/blue). :func:`read_ply` reads back the vertex element of binary little/big-endian
or ASCII PLY files with scalar properties (enough for round trips and tests; faces are ignored).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from apps.io.atomic import atomic_open

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def write_ply(path: str | os.PathLike, xyz: np.ndarray, colors: np.ndarray | None = None, *,
              double: bool = False) -> None:
    """Write points atomically as a binary little-endian PLY.

    Args:
        xyz: ``(N, 3)`` float, finite (metres, in whatever frame the caller states, e.g. world).
        colors: ``(N, 3) uint8`` RGB, ``(N,) uint8`` grey, or ``None``.
        double: store coordinates as float64 instead of float32.

    Raises ValueError for wrong shapes/dtypes or non-finite coordinates.
    """
    xyz = np.asarray(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or not np.issubdtype(xyz.dtype, np.number):
        raise ValueError(f"xyz must be an (N, 3) numeric array, got shape {xyz.shape} dtype {xyz.dtype}")
    if not np.all(np.isfinite(xyz)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(xyz), axis=1)))
        raise ValueError(f"xyz has {bad} points with non-finite coordinates; filter them before writing {path}")
    n = xyz.shape[0]
    fields = [("x", "<f8" if double else "<f4"), ("y", "<f8" if double else "<f4"), ("z", "<f8" if double else "<f4")]
    rgb = None
    if colors is not None:
        colors = np.asarray(colors)
        if colors.dtype != np.uint8:
            raise ValueError(f"colors must be uint8, got dtype {colors.dtype}")
        if colors.shape == (n,):
            rgb = np.repeat(colors[:, None], 3, axis=1)
        elif colors.shape == (n, 3):
            rgb = colors
        else:
            raise ValueError(f"colors must be (N, 3) or (N,) uint8 with N = {n}, got shape {colors.shape}")
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    data = np.empty(n, dtype=np.dtype(fields))
    data["x"], data["y"], data["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    if rgb is not None:
        data["red"], data["green"], data["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    scalar = "double" if double else "float"
    header = ["ply", "format binary_little_endian 1.0", "comment written by kp3d-vo", f"element vertex {n}",
              f"property {scalar} x", f"property {scalar} y", f"property {scalar} z"]
    if rgb is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
    header.append("end_header")
    with atomic_open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(data.tobytes())


def read_ply(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the vertices of a PLY file: ``(xyz (N, 3) float64, colors (N, 3) uint8 | None)``.

    Raises FileNotFoundError for a missing file, ValueError naming the file for a malformed header,
    list properties before/in the vertex element, or truncated data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PLY file not found: {path}")
    raw = path.read_bytes()
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise ValueError(f"{path} is not a PLY file (expected 'ply' ... 'end_header')")
    body_start = raw.index(b"\n", end) + 1
    fmt, elements = None, []  # elements: [name, count, [(prop, dtype)]]
    for line in raw[:end].decode("ascii", errors="replace").splitlines()[1:]:
        tok = line.split()
        if not tok or tok[0] in ("comment", "obj_info"):
            continue
        if tok[0] == "format" and len(tok) >= 2:
            fmt = tok[1]
        elif tok[0] == "element" and len(tok) == 3:
            elements.append([tok[1], int(tok[2]), []])
        elif tok[0] == "property" and elements:
            if tok[1] == "list":
                elements[-1][2].append((tok[-1], None))
            elif len(tok) == 3 and tok[1] in _PLY_TYPES:
                elements[-1][2].append((tok[2], _PLY_TYPES[tok[1]]))
            else:
                raise ValueError(f"{path}: unsupported PLY property line {line!r}")
        else:
            raise ValueError(f"{path}: unexpected PLY header line {line!r}")
    if fmt not in ("binary_little_endian", "binary_big_endian", "ascii"):
        raise ValueError(f"{path}: unsupported PLY format {fmt!r}")
    vertex = next((e for e in elements if e[0] == "vertex"), None)
    if vertex is None:
        raise ValueError(f"{path}: no vertex element")
    if any(e[1] for e in elements[:elements.index(vertex)]):
        raise ValueError(f"{path}: non-empty elements before 'vertex' are not supported")
    _, count, props = vertex
    if any(dt is None for _, dt in props):
        raise ValueError(f"{path}: list properties in the vertex element are not supported")
    names = [p for p, _ in props]
    for axis in ("x", "y", "z"):
        if axis not in names:
            raise ValueError(f"{path}: vertex element has no {axis!r} property")
    if fmt == "ascii":
        lines = raw[body_start:].decode("ascii", errors="replace").splitlines()
        if len(lines) < count:
            raise ValueError(f"{path}: expected {count} vertex lines, found {len(lines)}")
        table = np.array([ln.split()[:len(props)] for ln in lines[:count]], dtype=np.float64).reshape(count, len(props))
        cols = {p: table[:, k] for k, p in enumerate(names)}
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        dtype = np.dtype([(p, order + dt) for p, dt in props])
        if len(raw) - body_start < dtype.itemsize * count:
            raise ValueError(f"{path}: truncated vertex data ({len(raw) - body_start} bytes, "
                             f"expected {dtype.itemsize * count})")
        data = np.frombuffer(raw, dtype=dtype, count=count, offset=body_start)
        cols = {p: data[p] for p in names}
    xyz = np.stack([cols["x"], cols["y"], cols["z"]], axis=1).astype(np.float64)
    colors = None
    if all(c in cols for c in ("red", "green", "blue")):
        colors = np.stack([cols["red"], cols["green"], cols["blue"]], axis=1).astype(np.uint8)
    return xyz, colors
