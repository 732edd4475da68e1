"""Shared fixtures: generated data sets (no download, no real CIFAR), one torch thread."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def _write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def make_image_folder(root: Path, size: int = 16, n_train: int = 24, n_test: int = 8,
                      classes=("a", "b"), seed: int = 0) -> Path:
    """A learnable two-class ImageFolder tree: class 'a' bright top half, 'b' bright bottom half."""
    rng = np.random.RandomState(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for ci, c in enumerate(classes):
            for i in range(n):
                img = rng.randint(0, 80, (size, size, 3)).astype(np.uint8)
                half = slice(0, size // 2) if ci == 0 else slice(size // 2, size)
                img[half] = np.clip(img[half].astype(int) + 150, 0, 255).astype(np.uint8)
                _write_png(root / split / c / f"{i:04d}.png", img)
    return root


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("imgs"))


@pytest.fixture(scope="session")
def cifar10_pickles(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("c10") / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.RandomState(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.randint(0, 256, (4, 3072)).astype(np.uint8), b"labels": list(rng.randint(0, 10, 4))}
        with open(root / name, "wb") as f:
            pickle.dump(d, f)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f)
    return root.parent


@pytest.fixture(scope="session")
def cifar100_pickles(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("c100") / "cifar-100-python"
    root.mkdir()
    rng = np.random.RandomState(2)
    for name, n in (("train", 6), ("test", 3)):
        d = {b"data": rng.randint(0, 256, (n, 3072)).astype(np.uint8),
             b"fine_labels": list(rng.randint(0, 100, n)), b"coarse_labels": list(rng.randint(0, 20, n))}
        with open(root / name, "wb") as f:
            pickle.dump(d, f)
    with open(root / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}, f)
    return root.parent


EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


def make_events(rng, n: int, w: int, h: int) -> np.ndarray:
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["x"], ev["y"] = rng.randint(0, w, n), rng.randint(0, h, n)
    ev["t"] = np.sort(rng.randint(0, 10000, n))
    ev["p"] = rng.randint(0, 2, n)
    return ev


def make_event_folder(root: Path, n_train: int = 4, n_test: int = 2, seed: int = 3) -> Path:
    """Two classes ('x', 'y') of 16x16 two-polarity event streams, 200 events each, as .npy files."""
    rng = np.random.RandomState(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for c in ("x", "y"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(n):
                np.save(d / f"{i}.npy", make_events(rng, 200, 16, 16))
    return root


@pytest.fixture(scope="session")
def event_folder(tmp_path_factory) -> Path:
    return make_event_folder(tmp_path_factory.mktemp("events"))
