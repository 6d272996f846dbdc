"""Feature-level benchmark: the heads on generated CLIP-width features (D=512, 12 frames, 32 tokens),
with planted events, without the backbone. `python -m bench.feature_level` (see __main__.py);
generator.py makes the features, training.py trains the heads, probes.py measures them, variants.py
builds the heads and the attention without its LayerNorms and starting values, report.py writes the markdown."""
