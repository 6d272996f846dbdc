"""CLIP weight files: the TorchScript reader, reading and converting weight files, the pretrained-tag download cache."""
