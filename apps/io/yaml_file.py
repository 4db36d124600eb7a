"""Reading YAML files for the application code (defined in :mod:`frontend.common.yaml_file`)."""
from frontend.common.yaml_file import read_yaml

__all__ = ["read_yaml"]
