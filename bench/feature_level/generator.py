"""Generated CLIP-like features with planted events: what the heads see, without a backbone.

A *world* (one seed) holds the vocabulary: noun and verb vectors, function-word vectors, the
two modality directions and a fixed rotation for the order code. Every vector is unit-norm in
D dimensions; the content vectors live in the complement of the two modality directions.

A video is 2-4 *segments* (events) over T frames, each event a (noun, verb) pair with the
visual vector e = unit(noun + verb); frame t of segment s:

    f_t = unit(A_MODALITY m_img + A_CONTEXT c_video + A_EVENT e_s + A_NOISE n_t) * FRAME_RMS sqrt(D)

(CLIP's raw scale, which only the temporal encoder sees: the heads normalise the frames), so frames of one segment are at cos ~0.97, frames of one video at ~0.8-0.9 and frames of two
videos at ~0.4 (the printed statistics say what a given world gives). A caption is a sentence
feature (CLIP's EOT row) and word features:

    sentence = unit(B_MODALITY m_txt + B_CONTENT unit(sum of described events) [+ B_ORDER R unit(e_a - e_b)] + B_NOISE n)
    word     = unit(B_MODALITY m_txt + W_CONTENT concept + W_NOISE n)      (content words)
    word     = unit(B_MODALITY m_txt + F_CONTENT function_word + W_NOISE n) (function words)

with m_txt at cos MODALITY_COS to m_img, so a caption is at cos ~0.3 to its own frames and ~0.2
to others (CLIP ViT-B/32's range). Three caption kinds, each with its own test pool:

- one_segment: the noun and verb of ONE segment; the other segments are distractors (frame-level
  relevance: attention should pick the described frames).
- multi_segment: the noun and verb of 2-3 segments, each word belonging to one segment, the
  sentence a blurred mix of them (word grounding: each word should find its own segment).
- order: two segments a before b, "a then b", the sentence carrying R unit(e_a - e_b); its video
  has its time-reversed twin in the pool with the caption "b then a" (an order-free head scores
  a video and its twin alike, so it is at chance on these).

Everything is drawn from torch Generators: the same seeds give the same world and samples.
"""
from typing import List, NamedTuple

import numpy as np
import torch

from modules.tensor_ops import EPS

KINDS = ("one_segment", "multi_segment", "order")
# frames: directions, then scaled to CLIP's raw norm (the heads normalise them, but the temporal encoder
# sees them raw): an OpenAI ViT-L/14@336px image feature has norm 20.8 in 768 dimensions, RMS 0.75 per
# dimension (its raw and normalised values in rom1504/clip-retrieval issue 290)
A_MODALITY, A_CONTEXT, A_EVENT, A_NOISE = 0.42 ** 0.5, 0.40 ** 0.5, 0.15 ** 0.5, 0.03 ** 0.5
FRAME_RMS = 0.75
# sentences (B_NOISE fills the rest of the unit norm) and words
MODALITY_COS = 0.39
B_MODALITY, B_CONTENT, B_ORDER = 0.8, 0.26, 0.26
W_CONTENT, F_CONTENT, W_NOISE = 0.3, 0.4, 0.3
SEGMENTS = (2, 4)  # events per video, inclusive
MIN_SEGMENT_FRAMES = 2
FUNCTION_WORDS_PER_EVENT = 2  # "a", "the", "is", ... around each described event


class FeatureBatch(NamedTuple):
    """Head inputs plus what was planted. Caption i belongs to video i."""
    sentence: torch.Tensor       # [N, D]
    words: torch.Tensor          # [N, L, D] content words, function words, EOT (= sentence); zero padding
    word_mask: torch.Tensor      # [N, L] bool
    frames: torch.Tensor         # [N, T, D]
    video_mask: torch.Tensor     # [N, T] bool, all real
    kind: torch.Tensor           # [N] index into KINDS
    segment: torch.Tensor        # [N, T] segment (event) of each frame
    described: torch.Tensor      # [N, T] bool: frames of the segments the caption describes
    word_segment: torch.Tensor   # [N, L, T] bool: for a content word the frames of its segment, else none
    twin: torch.Tensor           # [N] index of the time-reversed twin in this batch, -1 if none


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.pow(2).sum(-1, keepdim=True).clamp_min(EPS).sqrt()


class World:
    """The vocabulary shared by every split: seed -> concept vectors, modality directions, order map."""

    def __init__(self, seed: int, dim: int = 512, nouns: int = 200, verbs: int = 50, function_words: int = 12):
        generator = torch.Generator().manual_seed(seed)
        self.dim = dim
        self.plane, _ = torch.linalg.qr(torch.randn(dim, 2, generator=generator))  # [D, 2] orthonormal
        self.image_mean = self.plane[:, 0]
        self.text_mean = MODALITY_COS * self.plane[:, 0] + (1 - MODALITY_COS ** 2) ** 0.5 * self.plane[:, 1]
        self.nouns = self.content(torch.randn(nouns, dim, generator=generator))  # [nouns, D]
        self.verbs = self.content(torch.randn(verbs, dim, generator=generator))  # [verbs, D]
        self.function_words = self.content(torch.randn(function_words, dim, generator=generator))  # [F, D]
        self.order_map, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator))  # [D, D] a fixed rotation

    def content(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of x off the modality plane, unit-norm: content vectors [..., D]."""
        return unit(x - (x @ self.plane) @ self.plane.T)


class Row(NamedTuple):
    video: int            # index of the base video
    reversed: bool        # its frames in reverse order (an order twin)
    kind: int             # index into KINDS
    segments: List[int]   # described segments in the caption's order (for "order": earlier first)
    twin: int             # row of the reversed twin, -1 if none


class SampleMaker:
    """Draws videos and captions of a world from one seed (a split's stream): the discrete choices
    from a numpy Generator, the vectors in bulk from a torch Generator."""

    def __init__(self, world: World, seed: int, frames: int = 12, tokens: int = 32):
        self.world = world
        self.choices = np.random.default_rng(seed)
        self.vectors = torch.Generator().manual_seed(seed)
        self.frames = frames
        self.tokens = tokens

    def _noise(self, *shape: int) -> torch.Tensor:
        return self.world.content(torch.randn(*shape, self.world.dim, generator=self.vectors))

    def _segment_of_frame(self, count: int) -> np.ndarray:
        """[T] segment of each frame: `count` contiguous segments of at least MIN_SEGMENT_FRAMES."""
        spare = self.frames - count * MIN_SEGMENT_FRAMES
        cuts = np.sort(self.choices.integers(0, spare + 1, count - 1))
        lengths = np.diff(np.concatenate([[0], cuts, [spare]])) + MIN_SEGMENT_FRAMES
        return np.repeat(np.arange(count), lengths)

    def _described(self, kind: str, count: int) -> List[int]:
        if kind == "one_segment":
            return [int(self.choices.integers(count))]
        size = 2 if kind == "order" or count == 2 else int(self.choices.integers(2, 4))
        return sorted(self.choices.permutation(count)[:size].tolist())

    def batch(self, kinds: List[str]) -> FeatureBatch:
        """One video and caption per entry of `kinds`; each "order" entry also adds the video's
        time-reversed twin (with the caption in the other order) right after it."""
        world, frames, most = self.world, self.frames, SEGMENTS[1]
        count = self.choices.integers(SEGMENTS[0], most + 1, len(kinds))  # [n] events per video
        nouns = np.argsort(self.choices.random((len(kinds), len(world.nouns))), 1)[:, :most]  # distinct per video
        verbs = self.choices.integers(0, len(world.verbs), (len(kinds), most))
        segment = np.stack([self._segment_of_frame(c) for c in count])  # [n, T]
        rows: List[Row] = []
        for video, kind in enumerate(kinds):
            described = self._described(kind, int(count[video]))
            if kind == "order":
                rows.append(Row(video, False, KINDS.index(kind), described, len(rows) + 1))
                rows.append(Row(video, True, KINDS.index(kind), described[::-1], len(rows) - 1))
            else:
                rows.append(Row(video, False, KINDS.index(kind), described, -1))
        events = unit(world.nouns[torch.from_numpy(nouns)] + world.verbs[torch.from_numpy(verbs)])  # [n, S, D]
        segment = torch.from_numpy(segment)
        base = unit(A_MODALITY * world.image_mean + A_CONTEXT * self._noise(len(kinds), 1)
                    + A_EVENT * events.gather(1, segment[..., None].expand(-1, -1, world.dim))
                    + A_NOISE * self._noise(len(kinds), frames)) * (FRAME_RMS * world.dim ** 0.5)  # [n, T, D]
        video = torch.tensor([row.video for row in rows])
        flip = torch.tensor([row.reversed for row in rows])
        order = torch.where(flip[:, None], torch.arange(frames - 1, -1, -1), torch.arange(frames))  # [N, T]
        row_frames = base[video[:, None], order]  # [N, T, D]
        row_segment = segment[video[:, None], order]  # [N, T]
        sentence = self._sentences(rows, events[video])
        words, word_mask, owner = self._words(rows, nouns, verbs, sentence)
        described = torch.stack([torch.isin(row_segment[i], torch.tensor(row.segments)) for i, row in enumerate(rows)])
        word_segment = (owner[..., None] == row_segment[:, None]) & (owner[..., None] >= 0)  # [N, L, T]
        return FeatureBatch(sentence, words, word_mask, row_frames, torch.ones(len(rows), frames, dtype=torch.bool),
                            torch.tensor([row.kind for row in rows]), row_segment, described, word_segment,
                            torch.tensor([row.twin for row in rows]))

    def _sentences(self, rows: List[Row], events: torch.Tensor) -> torch.Tensor:
        """events [N, S, D] of each row's video -> sentences [N, D] (the EOT feature)."""
        mix = torch.zeros(len(rows), events.shape[1])  # [N, S] described events, summed
        contrast = torch.zeros(len(rows), events.shape[1])  # [N, S] +1 earlier, -1 later (order captions)
        for i, row in enumerate(rows):
            mix[i, row.segments] = 1.0
            if KINDS[row.kind] == "order":
                contrast[i, row.segments] = torch.tensor([1.0, -1.0])
        ordered = contrast.abs().sum(1, keepdim=True) > 0  # [N, 1]
        content = unit(torch.einsum("ns,nsd->nd", mix, events))
        order_code = unit(torch.einsum("ns,nsd->nd", contrast, events) @ self.world.order_map.T) * ordered
        noise_scale = (1 - B_MODALITY ** 2 - B_CONTENT ** 2 - B_ORDER ** 2 * ordered).clamp_min(0).sqrt()
        return unit(B_MODALITY * self.world.text_mean + B_CONTENT * content + B_ORDER * order_code
                    + noise_scale * self._noise(len(rows)))

    def _words(self, rows: List[Row], nouns: np.ndarray, verbs: np.ndarray, sentence: torch.Tensor):
        """-> words [N, L, D] (FUNCTION_WORDS_PER_EVENT function words, then the noun and the verb of
        each described event, then EOT = the sentence), word mask [N, L], segment of each content
        word [N, L] (-1 for function words, EOT and padding)."""
        world = self.world
        table = torch.cat([F_CONTENT * world.function_words, W_CONTENT * world.nouns, W_CONTENT * world.verbs])
        first_noun, first_verb = len(world.function_words), len(world.function_words) + len(world.nouns)
        vocabulary = torch.zeros(len(rows), self.tokens, dtype=torch.long)
        owner = torch.full((len(rows), self.tokens), -1)
        lengths = []
        for i, row in enumerate(rows):
            tokens, owners = [], []
            for segment in row.segments:
                tokens += self.choices.integers(0, first_noun, FUNCTION_WORDS_PER_EVENT).tolist()
                tokens += [first_noun + int(nouns[row.video, segment]), first_verb + int(verbs[row.video, segment])]
                owners += [-1] * FUNCTION_WORDS_PER_EVENT + [segment, segment]
            vocabulary[i, :len(tokens)] = torch.tensor(tokens)
            owner[i, :len(owners)] = torch.tensor(owners)
            lengths.append(len(tokens))
        length = torch.tensor(lengths)[:, None]  # [N, 1] content and function words; EOT follows
        position = torch.arange(self.tokens)[None]  # [1, L]
        real = position < length  # [N, L]
        words = torch.zeros(len(rows), self.tokens, world.dim)
        words[real] = unit(B_MODALITY * world.text_mean + table[vocabulary[real]]
                           + W_NOISE * self._noise(int(real.sum())))  # noise only for the real rows
        words[position.expand_as(real) == length] = sentence  # EOT
        return words, position <= length, owner


def make_pools(world: World, seed: int, size: int, frames: int = 12, tokens: int = 32) -> dict:
    """One retrieval pool per caption kind, `size` captions and videos each (the order pool:
    size / 2 videos and their reversed twins), from the stream `seed`."""
    maker = SampleMaker(world, seed, frames, tokens)
    return {kind: maker.batch([kind] * (size // 2 if kind == "order" else size)) for kind in KINDS}
