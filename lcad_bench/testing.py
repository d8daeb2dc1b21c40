"""Helpers for tests and benchmarks that must not download anything: an in-memory CLIP tokenizer
over byte characters (transformers offline silently returns a broken tokenizer for hub ids)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def bytes_to_unicode() -> list[str]:
    """CLIP's byte -> printable-character map, as a list indexed by byte value order."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tiny_clip_tokenizer(merges: Sequence[tuple[str, str]] = ()) -> Any:
    """A CLIPTokenizer over byte characters, their ``</w>`` forms and ``merges`` (514 + len tokens)."""
    from transformers import CLIPTokenizer

    chars = bytes_to_unicode()
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    for m in merges:
        vocab["".join(m)] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=77)
