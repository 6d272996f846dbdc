"""Random inputs of the retrieval heads, with the padding real batches have."""
import torch


def random_inputs(n_texts: int = 5, n_videos: int = 6, frames: int = 6, words: int = 7, dim: int = 32,
                  dtype: torch.dtype = torch.float64, seed: int = 0):
    """Raw head inputs with padding: padded frames at the end and in the middle of videos (the
    first video is full, so every frame slot is real somewhere), padded words after each caption.
    Padded rows are zero. Returns sentence, words, word_mask, frames, video_mask."""
    generator = torch.Generator().manual_seed(seed)
    sentence = torch.randn(n_texts, dim, generator=generator, dtype=dtype)
    word_rows = torch.randn(n_texts, words, dim, generator=generator, dtype=dtype)
    lengths = torch.randint(1, words + 1, (n_texts,), generator=generator)
    lengths[0] = words
    word_mask = torch.arange(words)[None] < lengths[:, None]  # [Nt, L]
    frame_rows = torch.randn(n_videos, frames, dim, generator=generator, dtype=dtype)
    video_mask = torch.rand(n_videos, frames, generator=generator) < 0.7
    video_mask[:, 0] = True
    video_mask[0] = True
    return (sentence, word_rows * word_mask[..., None], word_mask,
            frame_rows * video_mask[..., None], video_mask)
