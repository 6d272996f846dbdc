"""One-off conversions and downloads: CLIP weights (download, conversion), frame extraction, the synthetic dataset."""
