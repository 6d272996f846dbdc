"""One-off conversions: checkpoint conversion, frame extraction, the synthetic dataset."""
