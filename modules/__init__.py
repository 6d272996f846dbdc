"""The model: CLIP backbone wrapper, temporal encoder, retrieval heads, loss, metrics."""
