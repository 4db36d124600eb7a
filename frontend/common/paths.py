"""Path checks with errors that name the argument, and portable labels for paths recorded in shipped
metadata (nothing that names one machine's folders)."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def portable_label(path: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``path`` as recorded in metadata: relative to ``base`` (default: the working directory) when inside
    it, else its last three components (``synth_calib/sequences/01``)."""
    p = Path(path).resolve()
    root = Path(base if base is not None else Path.cwd()).resolve()
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return "/".join(p.parts[-3:])


def _require(path: str | os.PathLike, what: str, kind: str, is_kind, wrong_kind: type[OSError]) -> Path:
    p = Path(path)
    if not is_kind(p):
        if p.exists():
            raise wrong_kind(f"{what} exists but is not a {kind}: {p}")
        raise FileNotFoundError(f"{what} not found: {p}")
    return p


def require_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path when it is a file; else FileNotFoundError (missing) or IsADirectoryError
    (exists but is not a file), both naming ``what`` and the path."""
    return _require(path, what, "file", Path.is_file, IsADirectoryError)


def require_dir(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path when it is a folder; else FileNotFoundError (missing) or NotADirectoryError
    (exists but is not a folder), both naming ``what`` and the path."""
    return _require(path, what, "folder", Path.is_dir, NotADirectoryError)


def check_output_folder(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path for a folder to write into: NotADirectoryError naming ``what`` when it, or
    a parent, exists and is not a folder (missing folders are fine: writers create them)."""
    p = Path(path)
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                where = "" if q == p else f": {q}"
                raise NotADirectoryError(f"{what} {p}{where} exists and is not a folder")
            break
    return p


def check_folder_name(name: str, what: str) -> str:
    """``name`` when it is a plain folder name (letters, digits, ``_ . -``; not ``.``/``..``), else
    ValueError naming ``what``: such a name cannot reach outside the folder it is joined to."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (".", ".."):
        raise ValueError(f"{what} must be a plain folder name (letters, digits, _ . -), got {name!r}")
    return name


def require_writable_dir(path: str | os.PathLike, what: str) -> Path:
    """Create the folder ``path`` (and its parents) and prove it writable with a temporary file, so a
    long job fails at the start, not at its end; OSError naming ``what`` otherwise."""
    p = check_output_folder(path, what)
    try:
        p.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=p).close()
    except OSError as exc:
        raise type(exc)(exc.errno, f"{what} {p} cannot be written ({exc.strerror or exc})") from None
    return p
