"""The camera's height above the road puts DS-DSO's output in metres (RunConfig.camera_height, backend
ba.camera_height): where it comes from (KITTI's rig, a render's synth.json, the run config) and, end to
end on a render, a depth prior in the wrong unit no longer sets the trajectory's unit."""
import json

import numpy as np
import pytest

from apps.io.kitti import KITTI_CAMERA_HEIGHT_M, KittiSequence
from apps.io.sequence import open_sequence
from apps.pipeline.config import RunConfig, load_config, with_camera_height
from apps.pipeline.runner import run_sequence
from io_helpers import make_kitti
from pipeline_helpers import OracleFrontend, OracleOutput


def test_kitti_folders_state_the_rigs_height_and_renders_their_own(tmp_path, synth_sequence):
    assert KittiSequence(make_kitti(tmp_path)).camera_height == KITTI_CAMERA_HEIGHT_M == 1.65
    stated = json.loads((synth_sequence / "synth.json").read_text())["options"]["camera_height"]
    seq = open_sequence(synth_sequence, resize=(160, 64))  # a view keeps it
    assert seq.camera_height == stated


@pytest.mark.parametrize("text, match", [("{}", "options.camera_height"),
                                         ('{"options": {"camera_height": -1}}', "must be > 0"),
                                         ("not json", "could not read")])
def test_a_bad_synth_json_is_named(tmp_path, text, match):
    seq = make_kitti(tmp_path)
    (seq / "synth.json").write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        KittiSequence(seq)
    assert "synth.json" in str(err.value)


def test_the_backend_gets_the_height_unless_the_config_says_otherwise():
    def ba(cfg):
        return cfg.backend.get("ba", {}).get("camera_height")

    assert ba(with_camera_height(RunConfig(), 1.65)) == 1.65            # the sequence's own
    assert ba(with_camera_height(RunConfig(camera_height=1.3), 1.65)) == 1.3
    assert ba(with_camera_height(RunConfig(camera_height=0.0), 1.65)) is None  # 0: the prior's unit
    assert ba(with_camera_height(RunConfig(), None)) is None
    assert ba(with_camera_height(RunConfig(mode="f2f"), 1.65)) is None
    explicit = RunConfig(camera_height=1.3, backend={"ba": {"camera_height": 2.0, "max_iterations": 4}})
    assert with_camera_height(explicit, 1.65).backend == explicit.backend  # the backend option wins
    cfg = RunConfig(backend={"ba": {"max_iterations": 4}})
    assert with_camera_height(cfg, 1.65).backend == {"ba": {"max_iterations": 4, "camera_height": 1.65}}
    assert cfg.backend == {"ba": {"max_iterations": 4}}  # the input is not modified
    with pytest.raises(ValueError, match="camera_height must be >= 0"):
        load_config(None, camera_height=-1.0)


@pytest.mark.parametrize("cfg", [RunConfig(mode="f2f", camera_height=1.4),
                                 RunConfig(camera_height=1.4, backend={"ba": {"ground_height_samples": 0}}),
                                 RunConfig(mode="dso", camera_height=1.4, backend={"ba": {"ground_height_samples": 0}})])
def test_a_camera_height_without_effect_is_reported(cfg, caplog):
    with caplog.at_level("WARNING", logger="apps.pipeline.config"):
        with_camera_height(cfg, None)
    assert "camera_height 1.4 m has no effect" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="apps.pipeline.config"):
        with_camera_height(RunConfig(mode=cfg.mode), 1.65)  # the sequence's own: silent
        with_camera_height(RunConfig(camera_height=1.4), None)  # dsdso with the hold: in effect
        with_camera_height(RunConfig(mode="dso", camera_height=1.4), None)  # pure DSO holds the road too
    assert caplog.text == ""


class ShortDepthOracle(OracleFrontend):
    """The oracle frontend with depth in a unit 0.7x the metre (a depth network calibrated elsewhere)."""

    def __call__(self, image: np.ndarray) -> OracleOutput:
        out = super().__call__(image)
        return OracleOutput(out.keypoints, out.scores, out.descriptors, 0.7 * out.depth)


def test_known_camera_height_gives_metres_with_a_depth_prior_in_another_unit(synth_sequence):
    seq = open_sequence(synth_sequence)
    frontend = ShortDepthOracle(seq)
    runs = {}
    for height in (0.0, None):  # the prior's unit; the render's stated height (synth.json)
        cfg = RunConfig(mode="dsdso", width=seq.intrinsics.width, height=seq.intrinsics.height, camera_height=height)
        runs[height] = run_sequence(seq, cfg, None, frontend=frontend, progress=False).summary
    prior_unit, metres = runs[0.0], runs[None]
    assert prior_unit["lost_frames"] == [] and metres["lost_frames"] == []
    # GT / estimate: 1 / 0.7 = 1.43 in the prior's unit, 1 in metres. Measured 1.40 / 1.07 (the road
    # plane fitted to this render's map reads the height 4 % high: 1.04 with an exact prior and no height)
    assert abs(prior_unit["evaluation"]["scale"] - 1 / 0.7) < 0.08, prior_unit["evaluation"]["scale"]
    assert abs(metres["evaluation"]["scale"] - 1.0) < 0.1, metres["evaluation"]["scale"]
    assert metres["config"]["backend"]["ba"]["camera_height"] == seq.camera_height
    assert metres["ground_height"] == pytest.approx(seq.camera_height)
    # what the hold did with the road planes: a first target from the first 5 (ba.ground_height_samples),
    # then every plane accounted for (on this straight render the road is found at nearly every update)
    hold = metres["ground_hold"]
    assert hold["locks"] >= 1 and hold["measuring"] >= 5, hold
    assert hold["planes"] == hold["measuring"] + hold["accepted"] + hold["rejected_tilt"] + hold["rejected_height"]
    assert hold["accepted"] >= 0.7 * (hold["planes"] - hold["measuring"]), hold
    # the output as written, without alignment, is scored too when it is in metres (and only then); this
    # render is shorter than KITTI's 100 m segments (no t_rel): its ATE within the 10 % of the path the fitted
    # scale may be off (measured 1.63 m of 41 m)
    assert "in_metres" not in prior_unit["evaluation"]
    assert metres["output_in_metres"] is True and prior_unit["output_in_metres"] is False
    unaligned = metres["evaluation"]["in_metres"]
    path_m = float(np.linalg.norm(np.diff(seq.gt_world_from_cam[:, :3, 3], axis=0), axis=1).sum())
    assert set(unaligned) == {"t_rel", "r_rel", "ate_rmse"}
    assert metres["evaluation"]["ate_rmse"] <= unaligned["ate_rmse"] < 0.1 * path_m, (unaligned, path_m)
    # the prior-unit run holds the road in the prior's unit (measured 1.28 = 0.78 x the render's 1.65 m)
    assert 0.6 * seq.camera_height < prior_unit["ground_height"] < 0.85 * seq.camera_height
    # per-frame accuracy is the prior-unit run's, scaled: a change of unit, not of the solution
    rpe = [r["evaluation"]["rpe_trans_rmse"] for r in (prior_unit, metres)]
    assert rpe[1] < 1.5 * rpe[0] + 0.01, rpe


def test_output_in_metres_follows_the_backend_not_the_held_height():
    # a run put in metres whose held height is being measured anew at its end (a relock: ground_height None;
    # KITTI 02 every 3rd frame) is still scored as written; a run in the prior's unit with a held height is not
    from apps.pipeline.runner import _output_in_metres

    assert _output_in_metres({"output_in_metres": True, "ground_height": None})
    assert not _output_in_metres({"output_in_metres": False, "ground_height": 1.2,
                                  "config": {"backend": {"ba": {"camera_height": 1.65}}}})
    assert not _output_in_metres({})  # a summary without the key (f2f, older files)
