"""YAML 1.2 floats in every config the project reads: ``1e-4`` is a number, not PyYAML 1.1's string."""
from __future__ import annotations

import math

import pytest

from frontend.common.yaml_file import load_yaml_text, read_yaml


@pytest.mark.parametrize("text, value", [
    ("1e4", 1e4), ("1E4", 1e4), ("-2e-3", -2e-3), ("+3e+2", 300.0), ("1.5e-4", 1.5e-4), ("1.", 1.0),
    (".5", 0.5), ("-.5e1", -5.0), ("1_000.5", 1000.5), (".inf", math.inf), ("-.Inf", -math.inf),
])
def test_floats_as_yaml_1_2(text, value):
    out = load_yaml_text(f"x: {text}\n")["x"]
    assert isinstance(out, float) and out == value


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("0x1f", 31), ("true", True), ("'1e4'", "1e4"), ("e4", "e4"), ("1e", "1e"), ("v1e4", "v1e4"),
    ("2026-12-05", None), ("1.2.3", "1.2.3"), ("null", None),
])
def test_everything_else_unchanged(text, value):
    import yaml

    out = load_yaml_text(f"x: {text}\n")["x"]
    assert out == yaml.safe_load(f"x: {text}\n")["x"]
    if value is not None:
        assert out == value and type(out) is type(value)
    assert math.isnan(load_yaml_text("x: .nan\n")["x"])


def test_plain_pyyaml_is_unchanged():
    """The resolver lives on a private loader class, not on yaml.SafeLoader (no global state)."""
    import yaml

    load_yaml_text("x: 1e4\n")
    assert yaml.safe_load("x: 1e4\n")["x"] == "1e4"


def test_read_yaml_names_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: [1, 2\n")
    with pytest.raises(ValueError, match=r"c\.yaml: invalid YAML"):
        read_yaml(path)
    with pytest.raises(FileNotFoundError, match=r"run config not found: .*nope\.yaml"):
        read_yaml(tmp_path / "nope.yaml", "run config")


def test_a_duplicate_key_is_refused_naming_the_key_and_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("mode: dso\nf2f: {min_inliers: 4}\nmode: dsdso\n")
    with pytest.raises(ValueError, match=r"c\.yaml: invalid YAML: duplicate key 'mode' on line 3"):
        read_yaml(path)
    path.write_text("x: {a: 1, a: 2}\n")
    with pytest.raises(ValueError, match=r"c\.yaml: invalid YAML: duplicate key 'a' on line 1"):
        read_yaml(path)
    # a merge key's values may be overridden, as YAML allows
    assert load_yaml_text("b: &b {a: 1, c: 2}\nx:\n  <<: *b\n  a: 3\n")["x"] == {"a": 3, "c": 2}


def test_backend_options_take_exponents(tmp_path):
    from dso_bridge import load_options

    path = tmp_path / "backend.yaml"
    path.write_text("backend: {ba: {affine_a_prior: 1e4, initial_lambda: 2e-5}}\n")
    opts = load_options(path)
    assert opts.ba.affine_a_prior == 1e4 and opts.ba.initial_lambda == pytest.approx(2e-5)
    path.write_text("ba: {affine_a_prior: '1e4'}\n")  # a quoted string stays a string: refused, named
    with pytest.raises(ValueError, match=r"backend\.yaml: ba\.affine_a_prior: expected float, got str '1e4'"):
        load_options(path)
