"""Datasets, decoded once, cached as uint8 arrays, held on the training device as tensors.

Sources ``load_dataset(data_dir)`` understands (detected from what is on disk):

- a tarball (``.tar.gz``/``.tgz``/``.tar``) of an ImageFolder tree ``train/<class>/*`` + ``test/<class>/*``
  (the shared CIFAR-10 JPEG copy), read directly without extracting;
- an ImageFolder tree (a folder holding ``train/`` and ``test/`` class folders, or ``val/`` for test);
- torchvision's pickled ``cifar-10-batches-py`` or ``cifar-100-python`` folders (the folder itself or its
  parent), read with ``pickle.load(f, encoding='bytes')``, the way the dataset authors document;
- event data: ``train/<class>/*.npy`` + ``test/<class>/*.npy``, each a tonic-style structured array with
  fields x, y, t, p, binned into T frames (``bin_events``).

Images are kept as uint8 ``[N, C, H, W]``; event frames as uint8 ``[N, T, P, H, W]`` (counts clipped at
255). The decoded arrays are cached in ``cache_dir`` (default ``data/cache``, git-ignored) under a key of
the source's path, size and modification time, so the JPEGs are decoded only the first time.

On the device: ``DeviceData`` holds the uint8 tensors; ``batches`` yields normalised float batches with
random crop (zero padding of ``pad`` pixels) and horizontal flip done in batch on the device.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from archsim.errors import UserError

CIFAR_MEAN = {"cifar10": (0.4914, 0.4822, 0.4465), "cifar100": (0.5071, 0.4865, 0.4409)}
CIFAR_STD = {"cifar10": (0.2470, 0.2435, 0.2616), "cifar100": (0.2673, 0.2564, 0.2762)}
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")
DATASETS = ("cifar10", "cifar100", "imagefolder", "events")


@dataclass
class ArrayDataset:
    """Decoded data set: uint8 arrays plus what is needed to interpret them."""
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    kind: str = "image"          # 'image' [N, C, H, W] or 'events' [N, T, P, H, W]
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.train_x.shape[-3:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# ---- decoding -------------------------------------------------------------------------------------

def _decode_image(data: bytes, where: str, size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise UserError(where, "image", f"cannot decode ({err})") from None
    if size is not None and arr.shape[:2] != (size, size):
        raise UserError(where, "image size", f"expected {size}x{size}, got {arr.shape[1]}x{arr.shape[0]}")
    return arr


def _split_name(parts: list[str]) -> str | None:
    if parts[0] == "train":
        return "train"
    if parts[0] in ("test", "val"):
        return "test"
    return None


def _assemble(items: dict[str, list[tuple[str, np.ndarray]]], where: str, kind: str = "image"):
    """items[split] = [(class_name, array)] -> stacked arrays with labels in sorted class order."""
    if not items.get("train") or not items.get("test"):
        raise UserError(where, "data_dir", "needs both train/<class>/ and test/<class>/ images")
    classes = sorted({c for split in items.values() for c, _ in split})
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for split in ("train", "test"):
        shapes = {a.shape for _, a in items[split]}
        if len(shapes) != 1:
            raise UserError(where, "image size", f"images of different sizes in {split}: {sorted(shapes)[:3]}")
        x = np.stack([a for _, a in items[split]])
        if kind == "image":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        out += [x, np.array([index[c] for c, _ in items[split]], dtype=np.int64)]
    return (*out, classes)


def read_image_tarball(path: Path, size: int | None) -> tuple:
    items: dict[str, list] = {"train": [], "test": []}
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                if not member.isfile() or not member.name.lower().endswith(IMAGE_EXT):
                    continue
                parts = Path(member.name).parts
                parts = parts[parts.index("train"):] if "train" in parts else \
                    parts[parts.index("test"):] if "test" in parts else parts
                split = _split_name(list(parts))
                if split is None or len(parts) < 3:
                    continue
                data = tar.extractfile(member).read()
                items[split].append((parts[-2], _decode_image(data, f"{path}:{member.name}", size)))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise UserError(str(path), "data_dir", f"not a readable tar archive ({err})") from None
    return _assemble(items, str(path))


def read_image_folder(root: Path, size: int | None) -> tuple:
    items: dict[str, list] = {"train": [], "test": []}
    for split_dir in sorted(root.iterdir()):
        split = _split_name([split_dir.name])
        if split is None or not split_dir.is_dir():
            continue
        for cls in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            for f in sorted(cls.iterdir()):
                if f.suffix.lower() in IMAGE_EXT:
                    items[split].append((cls.name, _decode_image(f.read_bytes(), str(f), size)))
    return _assemble(items, str(root))


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise UserError(str(path), "data_dir", f"not a CIFAR pickle ({err})") from None


def read_cifar10_pickles(root: Path) -> tuple:
    xs, ys = [], []
    for i in range(1, 6):
        d = _unpickle(root / f"data_batch_{i}")
        xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    t = _unpickle(root / "test_batch")
    meta = _unpickle(root / "batches.meta") if (root / "batches.meta").exists() else {}
    classes = [c.decode() for c in meta.get(b"label_names", [])] or [str(i) for i in range(10)]
    return (np.concatenate(xs), np.concatenate(ys), np.asarray(t[b"data"], np.uint8).reshape(-1, 3, 32, 32),
            np.asarray(t[b"labels"], np.int64), classes)


def read_cifar100_pickles(root: Path) -> tuple:
    tr, te = _unpickle(root / "train"), _unpickle(root / "test")
    meta = _unpickle(root / "meta") if (root / "meta").exists() else {}
    classes = [c.decode() for c in meta.get(b"fine_label_names", [])] or [str(i) for i in range(100)]
    return (np.asarray(tr[b"data"], np.uint8).reshape(-1, 3, 32, 32), np.asarray(tr[b"fine_labels"], np.int64),
            np.asarray(te[b"data"], np.uint8).reshape(-1, 3, 32, 32), np.asarray(te[b"fine_labels"], np.int64),
            classes)


# ---- events ---------------------------------------------------------------------------------------

def bin_events(events: np.ndarray, sensor_size: tuple[int, int, int], n_bins: int) -> np.ndarray:
    """Tonic-style structured events (x, y, t, p) -> counts ``[n_bins, P, H, W]`` (int32).

    ``sensor_size`` is (W, H, P) as in tonic. Time is cut into ``n_bins`` slices of equal duration between
    the first and last event (tonic's ``ToFrame(n_time_bins=...)``); the last event falls into the last bin.
    Polarity p may be {0, 1} or {-1, 1} (-1 counts as channel 0).
    """
    w, h, n_p = (int(s) for s in sensor_size)
    frames = np.zeros((n_bins, n_p, h, w), dtype=np.int32)
    if len(events) == 0:
        return frames
    for f in ("x", "y", "t", "p"):
        if events.dtype.names is None or f not in events.dtype.names:
            raise UserError("events", f, "structured event array needs fields x, y, t, p")
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    t = events["t"].astype(np.float64)
    p = (events["p"].astype(np.int64) > 0).astype(np.int64) if n_p == 2 else np.zeros(len(x), np.int64)
    if x.max() >= w or y.max() >= h or x.min() < 0 or y.min() < 0:
        raise UserError("events", "x/y", f"event outside the sensor {w}x{h}")
    span = t.max() - t.min()
    b = np.zeros(len(t), np.int64) if span == 0 else \
        np.minimum(((t - t.min()) / span * n_bins).astype(np.int64), n_bins - 1)
    np.add.at(frames, (b, p, y, x), 1)
    return frames


def read_event_folder(root: Path, n_bins: int, sensor_size: tuple[int, int, int] | None) -> tuple:
    files: dict[str, list[tuple[str, Path]]] = {"train": [], "test": []}
    for split_dir in sorted(root.iterdir()):
        split = _split_name([split_dir.name])
        if split is None or not split_dir.is_dir():
            continue
        for cls in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            files[split] += [(cls.name, f) for f in sorted(cls.glob("*.npy"))]
    loaded = {s: [(c, np.load(f, allow_pickle=False)) for c, f in v] for s, v in files.items()}
    if sensor_size is None:
        mx = max(int(e["x"].max()) for v in loaded.values() for _, e in v if len(e))
        my = max(int(e["y"].max()) for v in loaded.values() for _, e in v if len(e))
        sensor_size = (mx + 1, my + 1, 2)
    items = {s: [(c, np.minimum(bin_events(e, sensor_size, n_bins), 255).astype(np.uint8)) for c, e in v]
             for s, v in loaded.items()}
    return _assemble(items, str(root), kind="events")


# ---- detection and caching -----------------------------------------------------------------------

def _detect(path: Path) -> tuple[str, Path]:
    if path.is_file():
        if path.name.endswith((".tar.gz", ".tgz", ".tar")):
            return "tarball", path
        raise UserError(str(path), "data_dir", "a file that is not a .tar.gz/.tgz/.tar archive")
    if (path / "data_batch_1").exists():
        return "cifar10-pickle", path
    if (path / "cifar-10-batches-py" / "data_batch_1").exists():
        return "cifar10-pickle", path / "cifar-10-batches-py"
    if (path / "train").is_file() and (path / "test").is_file():
        return "cifar100-pickle", path
    if (path / "cifar-100-python" / "train").is_file():
        return "cifar100-pickle", path / "cifar-100-python"
    for split in ("train", "test"):
        d = path / split
        if d.is_dir():
            for cls in d.iterdir():
                if cls.is_dir() and any(cls.glob("*.npy")):
                    return "events", path
    if (path / "train").is_dir() and ((path / "test").is_dir() or (path / "val").is_dir()):
        return "imagefolder", path
    raise UserError(str(path), "data_dir", "no data found: expected a .tar.gz of train/ test/ class folders, "
                    "an ImageFolder tree, cifar-10-batches-py or cifar-100-python")


def _cache_key(path: Path, extra: dict) -> str:
    st = path.stat()
    h = hashlib.sha1(json.dumps([str(path.resolve()), st.st_size, int(st.st_mtime), extra],
                                sort_keys=True).encode()).hexdigest()[:16]
    return h


def load_dataset(data_dir: str | os.PathLike, dataset: str = "cifar10", *, image_size: int | None = 32,
                 timesteps: int = 4, sensor_size: tuple[int, int, int] | None = None,
                 cache_dir: str | os.PathLike | None = "data/cache") -> ArrayDataset:
    """Decode (or load from the cache) the data set at ``data_dir``. See the module docstring."""
    if dataset not in DATASETS:
        raise UserError("command line", "dataset", f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}")
    path = Path(data_dir)
    if not path.exists():
        raise UserError(str(path), "data_dir", "does not exist")
    kind, src = _detect(path)
    if dataset == "events" and kind != "events":
        raise UserError(str(path), "data_dir", f"dataset 'events' needs train/<class>/*.npy, found {kind}")
    if dataset != "events" and kind == "events":
        raise UserError(str(path), "data_dir", f"holds event data; use --dataset events, not {dataset}")
    extra = {"kind": kind, "size": image_size, "T": timesteps if kind == "events" else None,
             "sensor": sensor_size, "v": 1}
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{src.name.split('.')[0]}-{_cache_key(src, extra)}.npz"
        if cache.exists():
            try:
                with np.load(cache, allow_pickle=False) as z:
                    arrays = [z[k] for k in ("train_x", "train_y", "test_x", "test_y")]
                    classes = [str(c) for c in z["classes"]]
                return _finish(dataset, kind, arrays, classes, str(path))
            except (OSError, ValueError, KeyError):
                pass  # a broken cache is decoded again
    if kind == "tarball":
        out = read_image_tarball(src, image_size)
    elif kind == "imagefolder":
        out = read_image_folder(src, image_size)
    elif kind == "cifar10-pickle":
        out = read_cifar10_pickles(src)
    elif kind == "cifar100-pickle":
        out = read_cifar100_pickles(src)
    else:
        out = read_event_folder(src, timesteps, sensor_size)
    arrays, classes = list(out[:4]), list(out[4])
    if kind != "events" and image_size is not None and arrays[0].shape[-1] != image_size:
        raise UserError(str(path), "image size", f"expected {image_size}x{image_size}, "
                        f"got {arrays[0].shape[-1]}x{arrays[0].shape[-2]}")
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, train_x=arrays[0], train_y=arrays[1], test_x=arrays[2], test_y=arrays[3],
                     classes=np.array(classes))
            os.replace(tmp, cache)
        except OSError:
            pass  # caching is an optimisation only
    return _finish(dataset, kind, arrays, classes, str(path))


def _finish(dataset: str, kind: str, arrays: list, classes: list[str], source: str) -> ArrayDataset:
    train_x, train_y, test_x, test_y = arrays
    if kind == "events":
        c = train_x.shape[2]
        mean, std = (0.0,) * c, (1.0,) * c
        dkind = "events"
    elif dataset in CIFAR_MEAN:
        mean, std, dkind = CIFAR_MEAN[dataset], CIFAR_STD[dataset], "image"
    else:
        sub = train_x[:10000].astype(np.float64) / 255.0
        mean = tuple(float(m) for m in sub.mean((0, 2, 3)))
        std = tuple(float(s) + 1e-6 for s in sub.std((0, 2, 3)))
        dkind = "image"
    if dataset == "cifar10" and len(classes) != 10:
        raise UserError(source, "classes", f"cifar10 needs 10 classes, found {len(classes)}")
    if dataset == "cifar100" and len(classes) != 100:
        raise UserError(source, "classes", f"cifar100 needs 100 classes, found {len(classes)}")
    return ArrayDataset(train_x, train_y, test_x, test_y, classes, tuple(mean), tuple(std), dkind, source)


def test_indices(n: int, max_samples: int = 0, seed: int = 0) -> np.ndarray:
    """The test set in a seeded random order (all ``n``, or the first ``max_samples`` of that order).

    Test files are sorted by class, so any prefix of the file order is one class only; in this order every
    prefix (a workload's ``subset(n)``, ``--max-samples``) is a fair sample."""
    order = np.random.RandomState(seed).permutation(n)
    return order if not max_samples or max_samples >= n else order[:max_samples]


# ---- on the device --------------------------------------------------------------------------------

def random_crop_flip(x: torch.Tensor, pad: int, flip: bool, gen: torch.Generator | None) -> torch.Tensor:
    """Batch random crop (zero padding ``pad``) and horizontal flip of ``x [B, ..., H, W]`` on its device."""
    B, H, W = x.shape[0], x.shape[-2], x.shape[-1]
    dev = x.device
    if pad > 0:
        xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen, device="cpu").to(dev)
        ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen, device="cpu").to(dev)
        rows = (oy[:, None] + torch.arange(H, device=dev)[None, :])  # [B, H]
        cols = (ox[:, None] + torch.arange(W, device=dev)[None, :])  # [B, W]
        lead = x.shape[1:-2]
        flat = xp.reshape(B, -1, H + 2 * pad, W + 2 * pad)
        bi = torch.arange(B, device=dev)[:, None, None]
        crop = flat[bi, :, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C']
        x = crop.permute(0, 3, 1, 2).reshape(B, *lead, H, W)
    if flip:
        f = torch.rand(B, generator=gen, device="cpu").to(dev) < 0.5
        x = torch.where(f.view(B, *([1] * (x.dim() - 1))), x.flip(-1), x)
    return x


def cutout(x: torch.Tensor, size: int, gen: torch.Generator | None) -> torch.Tensor:
    """Cutout (DeVries & Taylor 2017): zero one ``size`` x ``size`` square per image of the normalised batch
    ``x [B, ..., H, W]`` (0 is the data set's mean colour), its centre uniform over the image and the square
    clipped at the border, as their reference code does. Regularises the long twin schedules (issue 28)."""
    B, H, W = x.shape[0], x.shape[-2], x.shape[-1]
    cy = torch.randint(0, H, (B,), generator=gen, device="cpu").to(x.device)
    cx = torch.randint(0, W, (B,), generator=gen, device="cpu").to(x.device)
    rows = torch.arange(H, device=x.device)[None, :]
    cols = torch.arange(W, device=x.device)[None, :]
    lo, hi = size // 2, size - size // 2
    in_r = (rows >= (cy[:, None] - lo)) & (rows < (cy[:, None] + hi))  # [B, H]
    in_c = (cols >= (cx[:, None] - lo)) & (cols < (cx[:, None] + hi))  # [B, W]
    hole = in_r[:, :, None] & in_c[:, None, :]  # [B, H, W]
    return x.masked_fill(hole.view(B, *([1] * (x.dim() - 3)), H, W), 0.0)


class DeviceData:
    """One split held on the device as uint8; ``batches`` yields (float normalised x, y)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, mean, std, device: str | torch.device,
                 channels_last: bool = False):
        self.x = torch.from_numpy(np.ascontiguousarray(x)).to(device)
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
        self.device = torch.device(device)
        shape = [1] * (self.x.dim() - 3) + [-1, 1, 1]
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(*shape)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(*shape)
        self.is_image = self.x.dim() == 4
        self.channels_last = channels_last

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def normalise(self, xb: torch.Tensor) -> torch.Tensor:
        xf = xb.float()
        if self.is_image:
            xf = xf / 255.0
        xf = (xf - self.mean) / self.std
        if self.channels_last and xf.dim() == 4:
            xf = xf.contiguous(memory_format=torch.channels_last)
        return xf

    def batches(self, batch_size: int, *, shuffle: bool = False, augment: bool = False,
                gen: torch.Generator | None = None, pad: int = 4,
                cutout_px: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self)
        order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size].to(self.device)
            xb = self.x[idx]
            if augment:
                xb = random_crop_flip(xb, pad, True, gen)
            xf = self.normalise(xb)
            if augment and cutout_px > 0 and self.is_image:
                xf = cutout(xf, cutout_px, gen)
            yield xf, self.y[idx]
