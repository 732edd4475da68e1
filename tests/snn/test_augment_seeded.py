"""Seeded random crop, flip and shuffling with expected outputs (issue 21): the expected images are cut
with numpy from the offsets and coin flips the same seeded generator draws, so a crop that does nothing,
a flip that never happens or a shuffle that keeps the order fails here."""
from __future__ import annotations

import numpy as np
import torch

from snn.data import DeviceData, cutout, random_crop_flip


def draws(seed: int, b: int, pad: int, flip: bool):
    """What random_crop_flip draws from a generator seeded ``seed``: row offsets, column offsets (each
    0..2 pad), then one coin per image (flip when < 0.5), in that order."""
    g = torch.Generator().manual_seed(seed)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=g).numpy() if pad else np.full(b, 0)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=g).numpy() if pad else np.full(b, 0)
    f = (torch.rand(b, generator=g) < 0.5).numpy() if flip else np.zeros(b, bool)
    return oy, ox, f


def crop_flip_numpy(x: np.ndarray, pad: int, oy, ox, f) -> np.ndarray:
    h, w = x.shape[-2:]
    widths = [(0, 0)] * (x.ndim - 2) + [(pad, pad), (pad, pad)]
    xp = np.pad(x, widths)
    out = np.stack([xp[i, ..., oy[i]:oy[i] + h, ox[i]:ox[i] + w] for i in range(len(x))])
    return np.stack([o[..., ::-1] if fl else o for o, fl in zip(out, f)])


def test_crop_and_flip_equal_numpy_with_the_same_draws():
    x = np.arange(6 * 2 * 5 * 5, dtype=np.int64).reshape(6, 2, 5, 5) + 1      # no pixel is 0 (= padding)
    oy, ox, f = draws(3, 6, 2, True)
    # this seed moves and flips some images and leaves some unflipped: the test exercises both branches
    assert (oy != 2).any() and (ox != 2).any() and f.any() and (~f).any()
    got = random_crop_flip(torch.from_numpy(x), 2, True, torch.Generator().manual_seed(3)).numpy()
    assert np.array_equal(got, crop_flip_numpy(x, 2, oy, ox, f))
    assert not np.array_equal(got, x)
    # a shifted image brings in zero padding; the unshifted, unflipped ones are unchanged
    for i in range(6):
        if oy[i] == 2 and ox[i] == 2 and not f[i]:
            assert np.array_equal(got[i], x[i])
        elif oy[i] != 2 or ox[i] != 2:
            assert (got[i] == 0).any()


def test_flip_only_and_crop_only():
    x = np.arange(8 * 1 * 3 * 4, dtype=np.int64).reshape(8, 1, 3, 4) + 1
    _, _, f = draws(5, 8, 0, True)
    assert f.any() and (~f).any()
    got = random_crop_flip(torch.from_numpy(x), 0, True, torch.Generator().manual_seed(5)).numpy()
    assert np.array_equal(got, np.stack([xi[..., ::-1] if fi else xi for xi, fi in zip(x, f)]))
    oy, ox, _ = draws(7, 8, 1, False)
    got = random_crop_flip(torch.from_numpy(x), 1, False, torch.Generator().manual_seed(7)).numpy()
    assert np.array_equal(got, crop_flip_numpy(x, 1, oy, ox, np.zeros(8, bool)))


def test_event_frames_crop_every_timestep_alike():
    """[B, T, P, H, W] event frames: one offset and one flip per sample, applied to all its frames."""
    x = np.arange(4 * 3 * 2 * 4 * 4, dtype=np.int64).reshape(4, 3, 2, 4, 4) + 1
    oy, ox, f = draws(11, 4, 1, True)
    got = random_crop_flip(torch.from_numpy(x), 1, True, torch.Generator().manual_seed(11)).numpy()
    assert np.array_equal(got, crop_flip_numpy(x, 1, oy, ox, f))


def test_shuffle_follows_the_seeded_permutation():
    x = np.random.RandomState(0).randint(0, 256, (10, 3, 4, 4)).astype(np.uint8)
    y = np.arange(10) * 7 % 10
    dd = DeviceData(x, y, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "cpu")
    order = torch.randperm(10, generator=torch.Generator().manual_seed(1)).numpy()
    assert not np.array_equal(order, np.arange(10))
    got = list(dd.batches(4, shuffle=True, gen=torch.Generator().manual_seed(1)))
    assert [b[1].tolist() for b in got] == [y[order[:4]].tolist(), y[order[4:8]].tolist(), y[order[8:]].tolist()]
    xs = torch.cat([b[0] for b in got]).numpy()
    want = (x[order].astype(np.float32) / 255.0 - 0.5) / 0.25
    assert np.allclose(xs, want, atol=1e-6)
    # without shuffle: file order
    assert torch.cat([b[1] for b in dd.batches(4)]).tolist() == y.tolist()


def test_augmented_batches_crop_and_flip_each_batch_from_the_same_stream():
    """shuffle + augment: the generator gives the permutation first, then each batch's offsets and coins."""
    x = (np.arange(6 * 1 * 4 * 4) % 251 + 1).astype(np.uint8).reshape(6, 1, 4, 4)
    dd = DeviceData(x, np.arange(6), (0.0,), (1.0,), "cpu")
    g = torch.Generator().manual_seed(2)
    order = torch.randperm(6, generator=g).numpy()
    want = []
    for i in range(0, 6, 4):
        xb = x[order[i:i + 4]].astype(np.int64)
        b = len(xb)
        oy = torch.randint(0, 3, (b,), generator=g).numpy()
        ox = torch.randint(0, 3, (b,), generator=g).numpy()
        f = (torch.rand(b, generator=g) < 0.5).numpy()
        want.append(crop_flip_numpy(xb, 1, oy, ox, f).astype(np.float32) / 255.0)
    got = [b[0].numpy() for b in dd.batches(4, shuffle=True, augment=True, gen=torch.Generator().manual_seed(2), pad=1)]
    assert all(np.allclose(a, b, atol=1e-7) for a, b in zip(got, want))


def test_cutout_zeroes_the_drawn_square_clipped_at_the_border():
    """Cutout draws one centre row then one centre column per image; the square [c - s//2, c - s//2 + s)
    is zeroed where it lies inside the image, everything else is kept."""
    x = torch.arange(1, 3 * 2 * 6 * 6 + 1, dtype=torch.float32).reshape(3, 2, 6, 6)
    g = torch.Generator().manual_seed(5)
    cy = torch.randint(0, 6, (3,), generator=g).numpy()
    cx = torch.randint(0, 6, (3,), generator=g).numpy()
    want = x.numpy().copy()
    for i in range(3):
        want[i, :, max(0, cy[i] - 2):cy[i] + 2, max(0, cx[i] - 2):cx[i] + 2] = 0.0
    got = cutout(x, 4, torch.Generator().manual_seed(5)).numpy()
    assert np.array_equal(got, want)
    assert (got == 0).sum() > 0 and (got != 0).sum() > 0


def test_cutout_in_batches_follows_crop_and_flip_on_the_same_stream():
    x = (np.arange(4 * 1 * 4 * 4) % 251 + 1).astype(np.uint8).reshape(4, 1, 4, 4)
    dd = DeviceData(x, np.arange(4), (0.0,), (1.0,), "cpu")
    plain = next(dd.batches(4, augment=True, gen=torch.Generator().manual_seed(3), pad=1))[0]
    g = torch.Generator().manual_seed(3)
    random_crop_flip(torch.zeros(4, 1, 4, 4), 1, True, g)  # the same draws as the plain batch
    want = cutout(plain, 2, g)
    got = next(dd.batches(4, augment=True, gen=torch.Generator().manual_seed(3), pad=1, cutout_px=2))[0]
    assert torch.equal(got, want) and not torch.equal(got, plain)
