"""Training data: image sources, homography pairs (KP2D) and monocular snippets (depth / KP3D).

Sources (``DataSource``):
* ``sequences``: KITTI-layout sequence folders (real KITTI or ``kp3d-vo synth`` renders); ``path`` is a root
  with ``sequences/NN`` or one sequence folder. The frames are read through a :class:`SequenceOpener` that
  the caller hands in (``kp3d-vo train`` passes ``apps.io.sequence.open_sequence``): the frontend defines
  what it reads (:class:`FrameSequence`), the application provides the readers.
* ``skimage``: the offline sample images of ``skimage.data`` (converted to grey).
* ``folder``: images matching ``glob`` under ``path`` (homography pairs only: no intrinsics).

Every sample is produced from a generator seeded by (seed, epoch, index), so a run is reproducible
and a resumed run sees the same data as an uninterrupted one, whatever the worker count.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from frontend.training.augment import PhotometricOptions, photometric_augment, random_resized_crop, resize_crop
from frontend.training.homography import HomographyOptions, sample_homography

logger = logging.getLogger(__name__)

SOURCE_KINDS = ("sequences", "skimage", "folder")
SKIMAGE_NAMES = ("astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
                 "horse", "hubble_deep_field", "immunohistochemistry", "moon", "page", "rocket", "text",
                 "retina", "logo", "colorwheel")


@dataclass
class DataSource:
    kind: str                              # "sequences" | "skimage" | "folder"
    path: str = ""                         # root / sequence folder / image folder
    sequences: list[str] | None = None     # sequence names under path/sequences (None = all)
    glob: str = "*.png"                    # image pattern for kind "folder"
    max_frames: int | None = None          # per sequence
    repeat: int = 1                        # how many times each image is listed (source weighting)

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"DataSource.kind must be one of {SOURCE_KINDS}, got {self.kind!r}")
        if self.kind != "skimage" and not self.path:
            raise ValueError(f"DataSource(kind={self.kind!r}) needs a path")
        if self.repeat < 1:
            raise ValueError(f"DataSource.repeat must be >= 1, got {self.repeat}")


class FrameSequence(Protocol):
    """The frames the training data reads (``apps.io.sequence.Sequence`` is one).

    ``intrinsics``: ``frontend.common.camera.Intrinsics`` of the frames as returned; ``has_depth``: whether
    ``depth(i)`` gives exact depth; ``image(i)``: ``(H, W) uint8`` grey; ``depth(i)``: ``(H, W) float32``
    metres (0 = unknown) or None.
    """

    intrinsics: Any
    has_depth: bool

    def __len__(self) -> int: ...

    def image(self, i: int) -> np.ndarray: ...

    def depth(self, i: int) -> np.ndarray | None: ...


class SequenceOpener(Protocol):
    """Opens one sequence folder: ``open_sequence(folder, gt=False, max_frames=N)`` (as ``apps.io.sequence``)."""

    def __call__(self, path: Path, *, gt: bool, max_frames: int | None) -> FrameSequence: ...


def open_source_sequences(source: DataSource, open_sequence: SequenceOpener | None) -> list[FrameSequence]:
    """The sequences of a ``sequences`` source (native resolution, no GT), opened with ``open_sequence``."""
    if open_sequence is None:
        raise ValueError(f"data source {source.path!r} (kind 'sequences') needs a sequence reader: pass "
                         "open_sequence (e.g. apps.io.sequence.open_sequence, as kp3d-vo train does)")
    root = Path(source.path)
    if not root.exists():
        raise FileNotFoundError(f"data source path not found: {root} (expected a KITTI-layout root or sequence)")
    if (root / "calib.txt").is_file():
        folders = [root]
    else:
        base = root / "sequences" if (root / "sequences").is_dir() else root
        names = source.sequences or sorted(p.name for p in base.iterdir() if (p / "calib.txt").is_file())
        folders = [base / n for n in names]
        for f in folders:
            if not (f / "calib.txt").is_file():
                raise FileNotFoundError(f"sequence folder {f} has no calib.txt (data source {root})")
    if not folders:
        raise ValueError(f"data source {root}: no KITTI-layout sequence folders found")
    return [open_sequence(f, gt=False, max_frames=source.max_frames) for f in folders]


def _skimage_images() -> list[np.ndarray]:
    import skimage.data
    from skimage.color import rgb2gray, rgba2rgb

    out = []
    for name in SKIMAGE_NAMES:
        try:
            im = getattr(skimage.data, name)()
        except Exception as exc:  # noqa: BLE001 - some sample images need a download; skip them
            logger.debug("skimage.data.%s unavailable: %s", name, exc)
            continue
        if im.ndim == 3:
            im = rgb2gray(rgba2rgb(im) if im.shape[2] == 4 else im[..., :3])
        im = np.asarray(im, dtype=np.float64)
        if im.max() > 1.0:
            im = im / 255.0
        if min(im.shape) >= 64:
            out.append((np.clip(im, 0, 1) * 255).astype(np.uint8))
    return out


def image_readers(sources: list[DataSource],
                  open_sequence: SequenceOpener | None = None) -> list[Callable[[], np.ndarray]]:
    """One zero-argument reader per image ((H, W) uint8 grey) over all sources, repeats included.

    ``open_sequence`` reads the ``sequences`` sources (see :class:`SequenceOpener`).
    """
    readers: list[Callable[[], np.ndarray]] = []
    for src in sources:
        if src.kind == "sequences":
            items = [(lambda s=seq, i=i: s.image(i)) for seq in open_source_sequences(src, open_sequence)
                     for i in range(len(seq))]
        elif src.kind == "skimage":
            items = [(lambda im=im: im) for im in _skimage_images()]
        else:
            paths = sorted(Path(src.path).glob(src.glob))
            if not paths:
                raise FileNotFoundError(f"data source folder {src.path}: no images match {src.glob!r}")
            items = [(lambda p=p: _read_grey(p)) for p in paths]
        readers.extend(items * src.repeat)
    if not readers:
        raise ValueError("no training images found in the configured data sources")
    return readers


def _read_grey(path: Path) -> np.ndarray:
    im = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if im is None:
        raise ValueError(f"cannot read image {path}")
    return im


class _SeededDataset(Dataset):
    def __init__(self, seed: int):
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])


@dataclass
class PairOptions:
    image_size: tuple[int, int] = (128, 320)           # (H, W) of the training crops, multiples of 32
    scale_range: tuple[float, float] = (1.0, 1.6)      # random zoom before cropping
    homography: HomographyOptions = field(default_factory=HomographyOptions)
    photometric: PhotometricOptions = field(default_factory=PhotometricOptions)


class HomographyPairDataset(_SeededDataset):
    """KP2D pairs: a random crop (source) and its random homographic warp (target).

    Item: ``source (1, H, W)`` and ``target (1, H, W)`` float32 in [0, 1] (independently
    photometrically augmented), ``target_from_source (3, 3)`` float32, ``target_valid (1, H, W)``.
    """

    def __init__(self, readers: list[Callable[[], np.ndarray]], options: PairOptions, seed: int = 0):
        super().__init__(seed)
        self.readers, self.options = readers, options

    def __len__(self) -> int:
        return len(self.readers)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.rng(index)
        o = self.options
        h, w = o.image_size
        image = self.readers[index]()
        resized, origin = random_resized_crop(image.shape[:2], (h, w), rng, o.scale_range)
        src, _ = resize_crop(image, resized, origin, (h, w))
        return homography_pair(src.astype(np.float32) / 255.0, rng, o.homography, o.photometric)


def homography_pair(image: np.ndarray, rng: np.random.Generator, homography: HomographyOptions,
                    photometric: PhotometricOptions) -> dict[str, torch.Tensor]:
    """KP2D pair from one (H, W) float32 image in [0, 1]: ``source``, ``target`` (1, H, W) (each
    augmented), ``target_from_source`` (3, 3) float32 and ``target_valid`` (1, H, W)."""
    h, w = image.shape
    H = sample_homography(h, w, rng, homography)
    tgt = cv2.warpPerspective(image, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpPerspective(np.ones_like(image), H, (w, h), flags=cv2.INTER_NEAREST)
    src_aug = photometric_augment(image[None], rng, photometric)
    tgt_aug = photometric_augment(tgt[None], rng, photometric) * valid[None]
    return {"source": torch.from_numpy(src_aug), "target": torch.from_numpy(tgt_aug),
            "target_from_source": torch.from_numpy(H.astype(np.float32)),
            "target_valid": torch.from_numpy(valid[None].astype(np.float32))}


@dataclass
class SnippetOptions:
    image_size: tuple[int, int] = (96, 320)            # (H, W), multiples of 32
    offsets: tuple[int, ...] = (-1, 1)                 # source frames relative to the target frame
    scale_range: tuple[float, float] = (1.0, 1.15)     # random zoom before cropping (same for the snippet)
    flip_probability: float = 0.5                      # horizontal flip of the whole snippet
    photometric: PhotometricOptions = field(default_factory=PhotometricOptions)
    homography: HomographyOptions | None = None        # also emit a KP2D pair of the target (multi-view)

    def __post_init__(self) -> None:
        if not self.offsets or 0 in self.offsets:
            raise ValueError(f"SnippetOptions.offsets must be non-empty and exclude 0, got {self.offsets}")


class SnippetDataset(_SeededDataset):
    """Monocular snippets (target frame t and sources t + offsets) with adjusted intrinsics.

    Item: ``images (S+1, 1, H, W)`` un-augmented (index 0 = target, then the sources in ``offsets``
    order), ``images_aug`` the same with one photometric augmentation, ``K (3, 3)`` float32 and,
    when any sequence has exact depth (synthetic renders), ``depth (1, H, W)`` float32 metres of
    the target (0 = unknown; nearest-neighbour resampled; all 0 for items of sequences without depth,
    so that every item of a batch has the same keys).
    """

    def __init__(self, sequences: list[FrameSequence], options: SnippetOptions, seed: int = 0):
        super().__init__(seed)
        self.sequences, self.options = sequences, options
        lo, hi = min(min(options.offsets), 0), max(max(options.offsets), 0)
        self.items = [(s, i) for s, seq in enumerate(sequences) for i in range(-lo, len(seq) - hi)]
        if not self.items:
            raise ValueError(f"no snippets: sequences too short for offsets {options.offsets}")
        # Depth when any sequence has it; zeros stand for "unknown" in the others.
        self.emit_depth = any(seq.has_depth for seq in sequences)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.rng(index)
        o = self.options
        h, w = o.image_size
        s, t = self.items[index]
        seq = self.sequences[s]
        frames = [seq.image(t)] + [seq.image(t + d) for d in o.offsets]
        resized, origin = random_resized_crop(frames[0].shape[:2], (h, w), rng, o.scale_range)
        crops = []
        for f in frames:
            c, _ = resize_crop(f, resized, origin, (h, w))
            crops.append(c)
        intr = seq.intrinsics.scaled(resized[1], resized[0]).cropped(origin[1], origin[0], w, h)
        images = np.stack(crops).astype(np.float32) / 255.0
        flip = rng.random() < o.flip_probability
        out: dict[str, torch.Tensor] = {}
        depth = seq.depth(t) if self.emit_depth and seq.has_depth else None
        if self.emit_depth and depth is None:
            out["depth"] = torch.zeros((1, h, w), dtype=torch.float32)
        if depth is not None:
            sy, sx = depth.shape[0] / resized[0], depth.shape[1] / resized[1]
            ys = np.clip(((np.arange(h) + origin[0] + 0.5) * sy).astype(int), 0, depth.shape[0] - 1)
            xs = np.clip(((np.arange(w) + origin[1] + 0.5) * sx).astype(int), 0, depth.shape[1] - 1)
            d = depth[ys[:, None], xs[None, :]]
            out["depth"] = torch.from_numpy(np.ascontiguousarray(d[:, ::-1] if flip else d)[None].astype(np.float32))
        K = intr.K
        if flip:
            images = images[:, :, ::-1]
            K[0, 2] = w - 1 - K[0, 2]
        images = np.ascontiguousarray(images)
        out["images"] = torch.from_numpy(images[:, None])
        out["images_aug"] = torch.from_numpy(photometric_augment(images, rng, o.photometric)[:, None])
        out["K"] = torch.from_numpy(K.astype(np.float32))
        if o.homography is not None:
            out.update(homography_pair(images[0], rng, o.homography, o.photometric))
        return out
