"""Datasets and batches in ``torch.utils.data``'s shape: ``Dataset``, ``TensorDataset``,
``DataLoader`` (``batch_size``, ``shuffle``, ``generator=``, ``drop_last``, collation of
tuples and dicts into stacked arrays) and ``random_split``, on NumPy arrays."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from srcgrad.errors import SrcGradError


class Dataset:
    """A map-style dataset: ``len(ds)`` items, ``ds[i]`` the i-th (a tuple, a dict or an
    array)."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Arrays of the same length, item ``i`` the tuple of their ``i``-th rows."""

    def __init__(self, *arrays: Any):
        self.tensors = tuple(np.asarray(a) for a in arrays)
        if not self.tensors:
            raise SrcGradError("TensorDataset needs at least one array")
        n = len(self.tensors[0])
        if any(len(t) != n for t in self.tensors):
            raise SrcGradError("the arrays of a TensorDataset have different lengths: "
                               + ", ".join(str(len(t)) for t in self.tensors))

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[float | int],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Disjoint random subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        sizes = [int(math.floor(n * f)) for f in lengths]
        for k in range(n - sum(sizes)):  # the remainder, one each, round robin (as torch)
            sizes[k % len(sizes)] += 1
    else:
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise SrcGradError(f"the lengths {list(lengths)} do not add up to the dataset's {n}")
    order = (generator or np.random.default_rng()).permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, order[start:start + size].tolist()))
        start += size
    return out


def default_collate(items: list) -> Any:
    """A batch of items: tuples and dicts collated field by field, arrays and numbers
    stacked into one array."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(default_collate([it[k] for it in items]) for k in range(len(first)))
    if isinstance(first, list):
        return [default_collate([it[k] for it in items]) for k in range(len(first))]
    if isinstance(first, Mapping):
        return {k: default_collate([it[k] for it in items]) for k in first}
    return np.stack([np.asarray(it) for it in items])


class DataLoader:
    """Batches of a dataset: ``for x, y in DataLoader(ds, batch_size=32, shuffle=True,
    generator=np.random.default_rng(0))``. A new order each epoch when shuffling (the same
    sequence of orders for the same generator seed)."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: np.random.Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None):
        if batch_size is not None and batch_size < 1:
            raise SrcGradError(f"batch_size must be at least 1, not {batch_size}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn or default_collate

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self.generator is None:
            self.generator = np.random.default_rng()
        return self.generator.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        tensors = getattr(self.dataset, "tensors", None)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if self.drop_last and len(batch) < self.batch_size:
                return
            if tensors is not None and self.collate_fn is default_collate:
                yield tuple(t[batch] for t in tensors)   # rows gathered at once
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in batch])

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
           "random_split"]
