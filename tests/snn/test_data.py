import tarfile

import numpy as np
import pytest
import torch

from archsim.errors import UserError
from snn.data import DeviceData, bin_events, load_dataset, random_crop_flip

from .conftest import EVENT_DTYPE, make_image_folder


def test_image_folder_and_cache(image_folder, tmp_path):
    d = load_dataset(image_folder, "imagefolder", image_size=16, cache_dir=tmp_path / "cache")
    assert d.train_x.shape == (48, 3, 16, 16) and d.train_x.dtype == np.uint8
    assert d.test_x.shape == (16, 3, 16, 16)
    assert d.classes == ["a", "b"] and sorted(set(d.train_y.tolist())) == [0, 1]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    d2 = load_dataset(image_folder, "imagefolder", image_size=16, cache_dir=tmp_path / "cache")
    assert np.array_equal(d.train_x, d2.train_x) and np.array_equal(d.test_y, d2.test_y)


def test_tarball_reads_like_the_folder(image_folder, tmp_path):
    tgz = tmp_path / "imgs.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(image_folder / "train", arcname="train")
        tar.add(image_folder / "test", arcname="test")
    a = load_dataset(tgz, "imagefolder", image_size=16, cache_dir=None)
    b = load_dataset(image_folder, "imagefolder", image_size=16, cache_dir=None)
    assert np.array_equal(a.train_x, b.train_x) and np.array_equal(a.train_y, b.train_y)


def test_cifar_pickles(cifar10_pickles, cifar100_pickles):
    d = load_dataset(cifar10_pickles, "cifar10", cache_dir=None)
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (4, 3, 32, 32) and d.num_classes == 10
    d = load_dataset(cifar100_pickles / "cifar-100-python", "cifar100", cache_dir=None)
    assert d.train_x.shape == (6, 3, 32, 32) and d.num_classes == 100


def test_wrong_image_size_names_the_file(tmp_path):
    root = make_image_folder(tmp_path / "big", size=16, n_train=2, n_test=1)
    with pytest.raises(UserError) as e:
        load_dataset(root, "imagefolder", image_size=32, cache_dir=None)
    assert "image size" in str(e.value) and str(root) in str(e.value)


def test_wrong_data_dir(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(tmp_path / "nope", cache_dir=None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no data found"):
        load_dataset(tmp_path / "empty", cache_dir=None)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(UserError):
        load_dataset(tmp_path / "x.txt", cache_dir=None)
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tar")
    with pytest.raises(UserError, match="tar"):
        load_dataset(bad, cache_dir=None)


def test_bin_events_by_hand():
    ev = np.zeros(5, dtype=EVENT_DTYPE)
    ev["x"] = [0, 1, 1, 2, 3]
    ev["y"] = [0, 0, 1, 1, 2]
    ev["t"] = [0, 10, 50, 60, 100]
    ev["p"] = [1, 0, 1, 1, 0]
    f = bin_events(ev, (4, 3, 2), 2)
    assert f.shape == (2, 2, 3, 4) and f.sum() == 5
    assert f[0, 1, 0, 0] == 1 and f[0, 0, 0, 1] == 1          # t 0, 10 -> bin 0
    assert f[1, 1, 1, 1] == 1 and f[1, 1, 1, 2] == 1 and f[1, 0, 2, 3] == 1  # t 50, 60, 100 -> bin 1
    with pytest.raises(UserError):
        bin_events(ev, (2, 2, 2), 2)


def test_event_folder(event_folder):
    d = load_dataset(event_folder, "events", timesteps=3, cache_dir=None)
    assert d.kind == "events" and d.train_x.shape == (8, 3, 2, 16, 16)
    assert int(d.train_x[0].sum()) == 200
    with pytest.raises(UserError, match="event"):
        load_dataset(event_folder, "cifar10", cache_dir=None)


def test_crop_flip_on_device():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4)
    g = torch.Generator().manual_seed(0)
    y = random_crop_flip(x, 0, False, g)
    assert torch.equal(x, y)
    y = random_crop_flip(x, 2, True, g)
    assert y.shape == x.shape and y.dtype == x.dtype
    # every output pixel is either padding (0) or a pixel of the same image and channel
    for b in range(2):
        for c in range(3):
            vals = set(y[b, c].flatten().tolist()) - {0}
            assert vals <= set(x[b, c].flatten().tolist())


def test_device_data_batches():
    x = np.random.RandomState(0).randint(0, 256, (10, 3, 8, 8)).astype(np.uint8)
    dd = DeviceData(x, np.arange(10) % 2, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "cpu")
    got = list(dd.batches(4))
    assert [b[0].shape[0] for b in got] == [4, 4, 2]
    assert torch.allclose(got[0][0], (torch.from_numpy(x[:4]).float() / 255 - 0.5) / 0.25)
    g = torch.Generator().manual_seed(1)
    ys = torch.cat([b[1] for b in dd.batches(3, shuffle=True, augment=True, gen=g)])
    assert sorted(ys.tolist()) == sorted((np.arange(10) % 2).tolist())
