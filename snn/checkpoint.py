"""Checkpoints: a model file (fp32 state_dict + the resolved config) and a training-state file.

``save_checkpoint(path, model, config, extra=None)`` writes ``{'format', 'arch', 'config', 'state_dict'}``
(+ ``extra``: optimizer, scheduler, RNG states, epoch -- only for ``runs/*/last.pt``) to a temp file, then
``os.replace`` -- never a half-written checkpoint. A model file holds no optimizer state, so the small net's
is about 0.5 MB.

``load_checkpoint(path)`` -> dict; ``load_model(path, device, expect_arch=None)`` -> (model, config).
``load_teacher(path, num_classes, input_shape)`` -> a frozen model giving ``[B, K]`` logits (an SNN's mean
output over its timesteps, or a ReLU ANN's output): the teacher of ``snn.train --distill-from``.
A missing, corrupt or foreign file, or a checkpoint of another architecture, is a UserError.
"""
from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from archsim.errors import UserError

FORMAT = "atsnn-checkpoint-v1"


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(str(path), "out", f"cannot write ({err.strerror or err})") from None


def save_checkpoint(path: str | os.PathLike, model: nn.Module, config: dict, extra: dict | None = None) -> None:
    sd = {k: v.detach().float().cpu() if v.is_floating_point() else v.detach().cpu()
          for k, v in model.state_dict().items()}
    config = json.loads(json.dumps(config, default=str))  # plain types only: weights_only loading
    obj = {"format": FORMAT, "arch": config.get("arch"), "config": config, "state_dict": sd}
    if extra:
        obj.update(extra)
    atomic_torch_save(obj, path)


def load_checkpoint(path: str | os.PathLike, full: bool = False) -> dict:
    """Read a checkpoint. ``full=True`` also allows the pickled RNG/optimizer state of ``last.pt``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(str(path), "checkpoint", "does not exist")
    try:
        # TorchVersion: configs written before they were made JSON-plain hold torch.__version__ as one.
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            obj = torch.load(path, map_location="cpu", weights_only=not full)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, ImportError) as err:
        msg = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise UserError(str(path), "checkpoint", f"not a readable checkpoint ({msg})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or "state_dict" not in obj:
        raise UserError(str(path), "checkpoint", f"not an ATSNN checkpoint (format {FORMAT} expected)")
    obj["config"] = json.loads(json.dumps(obj.get("config", {}), default=str))
    return obj


def model_from_config(config: dict, neuron: str = "lif") -> nn.Module:
    from snn.models import build
    nk = dict(config.get("neuron_kwargs", {}))
    return build(config["arch"], config["num_classes"], config["timesteps"], neuron=neuron,
                 input_shape=tuple(config["input_shape"]), **nk)


def load_weights(model: nn.Module, state_dict: dict, path: str | os.PathLike, arch: str | None) -> None:
    """``model.load_state_dict`` whose mismatch is a UserError naming the checkpoint, not a traceback."""
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as err:
        raise UserError(str(path), "state_dict", f"does not fit {arch!r}: "
                        f"{str(err).splitlines()[0][:160]}") from None


def load_model(path: str | os.PathLike, device: str = "cpu", expect_arch: str | None = None
               ) -> tuple[nn.Module, dict]:
    ck = load_checkpoint(path)
    cfg = ck["config"]
    if cfg.get("neuron", "lif") != "lif":
        # A ReLU ANN (snn.conversion.train_ann) has no timesteps to exit from: only snn.convert reads it.
        raise UserError(str(path), "neuron", f"checkpoint holds a {cfg.get('neuron')!r} ANN, not a spiking "
                        "network; convert it with python -m snn.convert")
    if expect_arch is not None and cfg.get("arch") != expect_arch:
        raise UserError(str(path), "arch", f"checkpoint is {cfg.get('arch')!r}, expected {expect_arch!r}")
    model = model_from_config(cfg)
    load_weights(model, ck["state_dict"], path, cfg.get("arch"))
    return model.to(device).eval(), cfg


class _MeanOverTime(nn.Module):
    """An SNN teacher's ``[T, B, K]`` output as the ``[B, K]`` logits a fixed-T SNN would predict with."""

    def __init__(self, snn: nn.Module):
        super().__init__()
        self.snn = snn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.snn(x).mean(0)


def load_teacher(path: str | os.PathLike, num_classes: int, input_shape: tuple[int, ...],
                 device: str | torch.device = "cpu") -> nn.Module:
    """A trained network of any architecture (ReLU ANN or SNN) with this data set's classes and input
    shape, in eval mode with frozen weights: ``teacher(x [B, C, H, W]) -> [B, K]`` logits."""
    ck = load_checkpoint(path)
    cfg = ck["config"]
    for k, want in (("num_classes", int(num_classes)), ("input_shape", list(input_shape))):
        if cfg.get(k) != want:
            raise UserError(str(path), k, f"teacher has {cfg.get(k)!r}, this run {want!r}")
    neuron = cfg.get("neuron", "lif")
    model = model_from_config(cfg, neuron=neuron)
    load_weights(model, ck["state_dict"], path, cfg.get("arch"))
    if neuron == "lif":
        model = _MeanOverTime(model)
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
