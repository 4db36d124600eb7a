"""Readers and writers for the formats of the field (KITTI, TUM, image folders, video, PLY)."""
