"""The pieces of the synthetic dataset (`preprocess/make_synthetic_dataset.py` is its entry point):
shapes (drawing), events (what one shape does), videos (sequences of events and their twins),
captions, plan (families, splits, which caption goes where) and writer (files on disk)."""
