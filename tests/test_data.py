"""srcgrad.data (#18): batches, shuffling reproducible from a generator, drop_last,
collation of tuples and dicts, random_split."""

from __future__ import annotations

import numpy as np
import pytest

import srcgrad
from srcgrad.data import DataLoader, Dataset, TensorDataset, random_split

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10)


def test_batches_in_order_and_the_last_one_smaller():
    batches = list(DataLoader(TensorDataset(X, Y), batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), Y)
    assert len(DataLoader(TensorDataset(X, Y), batch_size=4)) == 3
    dropped = DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(b[0]) for b in dropped] == [4, 4]


def test_shuffling_is_reproducible_and_new_each_epoch():
    def epochs(seed):
        loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True,
                            generator=np.random.default_rng(seed))
        return [np.concatenate([y for _, y in loader]) for _ in range(2)]

    first, second = epochs(0), epochs(0)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(first[0]) == list(Y) and not np.array_equal(first[0], first[1])
    for x, y in DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True):
        np.testing.assert_array_equal(x[:, 0], 2 * y)  # rows stay together


class Pairs(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(3, float(i)), "label": i % 2}


def test_dicts_and_tuples_are_collated_field_by_field():
    batch = next(iter(DataLoader(Pairs(), batch_size=2)))
    assert set(batch) == {"x", "label"} and batch["x"].shape == (2, 3)
    np.testing.assert_array_equal(batch["label"], [0, 1])


def test_random_split_covers_the_dataset_once():
    parts = random_split(TensorDataset(X, Y), [0.7, 0.3], generator=np.random.default_rng(1))
    assert [len(p) for p in parts] == [7, 3]
    seen = sorted(int(p[i][1]) for p in parts for i in range(len(p)))
    assert seen == list(Y)
    with pytest.raises(srcgrad.SrcGradError, match="do not add up"):
        random_split(TensorDataset(X, Y), [3, 3])


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(srcgrad.SrcGradError, match="different lengths: 10, 3"):
        TensorDataset(X, Y[:3])
