"""Trajectory evaluation: the KITTI odometry devkit metric (``kitti_metric``), evo-based alignment
(``alignment``), single-trajectory scoring (``evaluate``), batches (``batch``) and reports
(``report``). Import the submodules directly; nothing is imported here (evo is slow to import)."""
