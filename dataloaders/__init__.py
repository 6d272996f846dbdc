"""Data: annotation readers (one file per dataset), frame/video sources, sampling, datasets."""
