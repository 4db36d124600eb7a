"""VideoSequence on small videos written with cv2.VideoWriter (MJPG in .avi, mp4v in .mp4)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from apps.io.sequence import open_sequence
from apps.io.video import VideoSequence

W, H, N = 96, 64, 30


def pattern(i: int) -> np.ndarray:
    """(H, W) uint8 frame whose mean brightness encodes the frame index (robust to lossy codecs)."""
    y, x = np.mgrid[0:H, 0:W]
    texture = ((x // 8 + y // 8) % 2) * 20
    return np.clip(30 + 6 * i + texture, 0, 255).astype(np.uint8)


def index_of(img: np.ndarray) -> int:
    return int(round((float(img.mean()) - 30 - 10) / 6))


@pytest.fixture(scope="module", params=[("avi", "MJPG"), ("mp4", "mp4v")])
def video(tmp_path_factory, request):
    ext, fourcc = request.param
    folder = tmp_path_factory.mktemp(f"video_{fourcc}")
    path = folder / f"clip.{ext}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (W, H), isColor=True)
    if not writer.isOpened():
        pytest.skip(f"OpenCV here cannot write {fourcc} video")
    for i in range(N):
        writer.write(cv2.cvtColor(pattern(i), cv2.COLOR_GRAY2BGR))
    writer.release()
    (folder / "calib.txt").write_text(f"80 80 {W / 2 - 0.5} {H / 2 - 0.5}\n")
    return path


def test_video_frames_times_and_order(video):
    seq = VideoSequence(video, video.parent / "calib.txt")
    assert len(seq) == N and seq.name == "clip"
    assert (seq.intrinsics.width, seq.intrinsics.height) == (W, H)
    np.testing.assert_allclose(seq.timestamps, np.arange(N) / 25.0, atol=1e-6)
    frames = list(seq)
    assert [index_of(f.image) for f in frames] == list(range(N))
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == (H, W)
        assert np.abs(f.image.astype(int) - pattern(f.index)).mean() < 3.0
    assert seq.frame_path(7).endswith("clip" + video.suffix + "#frame=7")


@pytest.mark.parametrize("grab_limit", [64, 0])  # 0: every jump seeks
def test_video_random_access(video, monkeypatch, grab_limit):
    monkeypatch.setattr("apps.io.video.FORWARD_GRAB_LIMIT", grab_limit)
    seq = VideoSequence(video, video.parent / "calib.txt")
    for i in (5, 5, 6, 25, 2, 29, 0, 17, 28, 1):
        assert index_of(seq.image(i)) == i
    seq.close()
    assert index_of(seq.image(-1)) == N - 1


def test_sequential_reading_decodes_each_frame_once(video, monkeypatch):
    seq = VideoSequence(video, video.parent / "calib.txt")
    counts = {"open": 0}
    real_open = seq._open

    def counting_open():
        counts["open"] += 1
        return real_open()

    monkeypatch.setattr(seq, "_open", counting_open)
    for i in range(N):
        seq.image(i)
    assert counts["open"] == 1  # one decoder pass, no re-decoding from the start per frame


def test_open_sequence_video_resize_fps_and_limits(video):
    seq = open_sequence(video, calib=video.parent / "calib.txt", resize=(48, 32), max_frames=10, fps=10.0)
    assert len(seq) == 10 and seq.image(9).shape == (32, 48)
    np.testing.assert_allclose(seq.timestamps, np.arange(10) / 10.0)
    assert seq.intrinsics.fx == pytest.approx(40.0) and seq.intrinsics.cx == pytest.approx(23.5)
    with pytest.raises(ValueError, match=r"video .*clip.* needs a calibration file"):
        open_sequence(video)


def test_bad_video_files(tmp_path, video):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    (tmp_path / "calib.txt").write_text("80 80 47.5 31.5\n")
    with pytest.raises(ValueError, match=r"broken\.mp4"):
        VideoSequence(bad, tmp_path / "calib.txt")
    (tmp_path / "big.txt").write_text("80 80 47.5 31.5 100 100\n")
    with pytest.raises(ValueError, match=r"big\.txt is for 100x100 images but the frames are 96x64"):
        VideoSequence(video, tmp_path / "big.txt")
    with pytest.raises(FileNotFoundError, match=r"missing\.avi"):
        VideoSequence(tmp_path / "missing.avi", tmp_path / "calib.txt")
