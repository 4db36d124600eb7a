"""Project-wide primitives that depend on nothing else in the project.

- :mod:`frontend.common.atomic`: atomic file writes (``atomic_open``, ``atomic_write_text``, ``atomic_write_bytes``);
- :mod:`frontend.common.camera`: pinhole ``Intrinsics`` with consistent resize/crop;
- :mod:`frontend.common.yaml_file`: ``read_yaml`` with errors that name the file;
- :mod:`frontend.common.typed_config`: the one typed config loader (YAML mapping -> dataclass, types checked);
- :mod:`frontend.common.device`: ``resolve_device`` (``None``/``"auto"``/``"cpu"``/``"cuda[:N]"``).

They live at the bottom of the layering (``frontend`` <- ``apps``) so that the frontend never imports
``apps``; ``apps.io.atomic``, ``apps.io.camera`` and ``apps.io.yaml_file`` re-export them for the
application code.
"""
