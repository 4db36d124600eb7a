"""kp3d-vo applications: the `kp3d-vo` command, dataset I/O, synthetic renderer, evaluation."""
__version__ = "0.1.0"
