"""Reading YAML files for the application code (defined in :mod:`frontend.common.yaml_file`)."""
from frontend.common.yaml_file import load_yaml_text, read_yaml

__all__ = ["load_yaml_text", "read_yaml"]
