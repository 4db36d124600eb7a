"""Option structs of the backend, bound pycolmap-style: keyword constructor, todict(), mergedict(), __repr__."""
from __future__ import annotations

import pytest

from dso_bridge import SystemOptions
from dso_bridge.options import options_to_dict


def test_keyword_constructor_and_nested_dicts():
    opts = SystemOptions(ba={"max_iterations": 3}, use_depth_prior=False)
    assert opts.ba.max_iterations == 3 and opts.use_depth_prior is False
    assert opts.points.desired_active_points == SystemOptions().points.desired_active_points  # others: defaults
    as_dict = opts.todict()
    assert as_dict == options_to_dict(opts)
    assert as_dict["ba"]["max_iterations"] == 3 and isinstance(as_dict["tracker"]["max_iterations"], list)
    again = SystemOptions(**as_dict)
    assert again.todict() == as_dict


def test_mergedict_sets_in_place_and_names_unknown_keys():
    opts = SystemOptions()
    opts.mergedict({"points": {"desired_active_points": 900}, "keyframes": {"max_keyframes": 6}})
    assert opts.points.desired_active_points == 900 and opts.keyframes.max_keyframes == 6
    opts.points.mergedict({"min_idepth": 0.25})
    assert opts.points.min_idepth == 0.25
    with pytest.raises(KeyError, match="PointOptions: unknown option 'desired_actve_points'"):
        opts.points.mergedict({"desired_actve_points": 1})
    with pytest.raises(KeyError, match="SystemOptions: unknown option 'check'"):
        SystemOptions(check=1)
    with pytest.raises(TypeError):
        SystemOptions(ba={"max_iterations": "3"})


def test_repr_lists_the_fields():
    text = repr(SystemOptions(ba={"max_iterations": 7}).ba)
    assert text.startswith("BundleAdjustmentOptions(") and "max_iterations=7" in text
    assert "ba={" in repr(SystemOptions())
