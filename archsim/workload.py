"""THE spike-workload format: the one writer and the one loader (documented in workloads/FORMAT.md).

A workload is what a trained network did on a test set: the layer graph, and per sample and timestep how
many spikes each layer emitted, what the accumulated output predicted and how confident it was. Storing
the per-timestep predictions and scores (not only the exit step) is what lets archsim re-apply a
*different* exit policy or threshold without retraining.

Only numpy and networkx are imported: the trainer writes workloads on machines without simpy or dask.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from archsim import graph as lg
from archsim import pooling
from archsim.errors import UserError

FORMAT_VERSION = 2           # 2: optional per-neuron spike records and per-node neuron records
READABLE_VERSIONS = (1, 2)   # a version-1 file is a version-2 file without either
FORMAT_MINOR = 1             # 2.1: optional pooled-cell counts; a minor version only adds optional keys
KINDS = ("direct", "rate", "ttfs")
SCORE_NAMES = ("entropy", "confidence")
REQUIRED_META = ("kind", "timesteps")


@dataclass
class Workload:
    """One exported run. Shapes: N samples, L layers (graph node index order), T timesteps.

    spikes[n, l, t]: spikes EMITTED by layer l at timestep t (int32; 0 for a non-spiking layer);
    predictions[n, t]: argmax of the accumulated output after timestep t+1;
    scores[name][n, t]: exit score after timestep t+1 ('entropy' = 1 - normalised entropy of the
    softmax of the accumulated output, 'confidence' = its max softmax), both in [0, 1];
    exit_timestep[n]: 1-based timestep at which the export-time policy (meta) stopped the sample;
    channel_spikes_mean: optional {layer: float32 [C, T]} spikes per output channel, mean over samples.
    neuron_spikes: optional {layer: uint8 [S, T, ceil(neurons / 8)]}: which neurons fired at each
    timestep, bit-packed (numpy.packbits, little bit order, [C, H, W] neuron order), for the samples
    ``neuron_samples`` (int [S], sorted indices into the N samples): a subset is enough. Where present,
    archsim counts fan-out, packets and hops per neuron, exactly, instead of from layer averages.
    pooled_cells: optional {layer: int [N, T]}: the pooled cells of ``layer`` (cells of its pooled
    out-edges' factor p: p x p neurons of one channel) holding at least one spike, per sample and
    timestep; what ``dataflow.pooling: per_cell`` sends (archsim.pooling).
    neuron_nonzero: optional {layer: uint8 [S, T, ceil(neurons / 8)]}, packed as neuron_spikes, same
    samples: which neurons hold a non-zero potential entering each timestep. Known only where a
    simulator tracked the potentials (``archsim validate`` replays SANA-FE's, archsim.validate.lif); it
    makes the ``while_nonzero`` update rule exact. In memory only: the file format records spikes, which
    is all an exporter knows, and save_workload leaves it out.
    """
    graph: nx.DiGraph
    spikes: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    scores: dict[str, np.ndarray]
    exit_timestep: np.ndarray
    meta: dict
    channel_spikes_mean: dict[str, np.ndarray] = field(default_factory=dict)
    source: str | None = None   # the file it was loaded from (reports name it); None when built in memory
    neuron_spikes: dict[str, np.ndarray] = field(default_factory=dict)
    neuron_samples: np.ndarray | None = None
    pooled_cells: dict[str, np.ndarray] = field(default_factory=dict)
    neuron_nonzero: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        fill_neuron_records(self.graph, self.meta)

    @property
    def n_samples(self) -> int:
        return int(self.spikes.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.spikes.shape[2])

    @property
    def layers(self) -> list[str]:
        return lg.layer_names(self.graph)

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])

    def subset(self, n: int) -> "Workload":
        """The first ``n`` samples (for quick runs and sweeps over sample counts)."""
        return self.take(slice(0, n))

    def take(self, index: slice | np.ndarray) -> "Workload":
        """The samples ``index`` (a slice with step 1, or sorted distinct sample indices), renumbered from
        0: a block of samples to count on its own (archsim.timing.chunks), or a sample of them."""
        if isinstance(index, slice):
            index = np.arange(self.n_samples)[index]
        index = np.asarray(index, dtype=np.int64)
        contiguous = len(index) == 0 or (index[-1] - index[0] + 1 == len(index))
        pick = slice(int(index[0]), int(index[-1]) + 1) if contiguous and len(index) else index
        neuron_spikes, nonzero, samples = {}, {}, None
        if self.neuron_samples is not None:
            pos = np.searchsorted(index, self.neuron_samples)
            keep = pos < len(index)
            keep[keep] = index[pos[keep]] == self.neuron_samples[keep]
            samples = pos[keep]
            neuron_spikes = {k: v[keep] for k, v in self.neuron_spikes.items()}
            nonzero = {k: v[keep] for k, v in self.neuron_nonzero.items()}
        return Workload(self.graph, self.spikes[pick], self.labels[pick], self.predictions[pick],
                        {k: v[pick] for k, v in self.scores.items()}, self.exit_timestep[pick], dict(self.meta),
                        self.channel_spikes_mean, self.source, neuron_spikes, samples,
                        {k: v[pick] for k, v in self.pooled_cells.items()}, nonzero)

    def neuron_raster(self, layer: str, record: str = "spikes") -> np.ndarray:
        """bool [S, T, neurons] of ``layer`` for the samples ``neuron_samples`` (unpacked): its spikes, or
        with ``record="nonzero"`` its non-zero potentials (``neuron_nonzero``)."""
        n = lg.layer(self.graph, layer).neurons
        bits = {"spikes": self.neuron_spikes, "nonzero": self.neuron_nonzero}[record][layer]
        return np.unpackbits(bits, axis=-1, count=n, bitorder="little").astype(bool)


def pack_neuron_spikes(raster: np.ndarray) -> np.ndarray:
    """bool/0-1 [S, T, neurons] -> the stored uint8 [S, T, ceil(neurons / 8)] (see Workload)."""
    return np.packbits(np.asarray(raster, dtype=bool), axis=-1, bitorder="little")


def save_workload(path: str | os.PathLike, wl: Workload) -> Path:
    """Validate, then write atomically (a temp file renamed into place: nothing half-written)."""
    path = Path(path)
    validate(wl, str(path))
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int32),
        "format_minor": np.array(FORMAT_MINOR, dtype=np.int32),
        "graph_json": np.array(lg.to_json(wl.graph)),
        "meta_json": np.array(json.dumps(wl.meta, sort_keys=True)),
        "spikes": wl.spikes.astype(np.int32),
        "labels": wl.labels.astype(np.int32),
        "predictions": wl.predictions.astype(np.int32),
        "exit_timestep": wl.exit_timestep.astype(np.int32),
    }
    for name, s in wl.scores.items():
        arrays[f"score_{name}"] = s.astype(np.float32)
    for layer, c in wl.channel_spikes_mean.items():
        arrays[f"channels_{layer}"] = c.astype(np.float32)
    if wl.neuron_samples is not None:
        arrays["neuron_samples"] = np.asarray(wl.neuron_samples, dtype=np.int32)
        for layer, bits in wl.neuron_spikes.items():
            arrays[f"neurons_{layer}"] = bits.astype(np.uint8)
    for layer, cells in wl.pooled_cells.items():
        arrays[f"pooled_cells_{layer}"] = cells.astype(np.int32)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(str(path), "path", f"directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp_", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a workload is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_workload(path: str | os.PathLike) -> Workload:
    """Load and validate; every defect is a UserError naming the file and the field."""
    src = str(path)
    if not os.path.isfile(src):
        raise UserError(src, "path", "no such workload file")
    if not zipfile.is_zipfile(src):
        raise UserError(src, "file", "not an .npz archive (truncated or another format)")
    try:
        with np.load(src, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise UserError(src, "file", "holds object arrays that need pickle; refused") from None
        raise UserError(src, "file", f"unreadable npz ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise UserError(src, "file", f"unreadable npz ({err})") from None

    for key in ("format_version", "graph_json", "meta_json", "spikes", "labels", "predictions",
                "exit_timestep"):
        if key not in data:
            raise UserError(src, key, "missing")
    if int(data["format_version"]) not in READABLE_VERSIONS:
        raise UserError(src, "format_version", f"{int(data['format_version'])} is not one of "
                        f"{', '.join(map(str, READABLE_VERSIONS))}")
    try:
        meta = json.loads(str(data["meta_json"]))
    except json.JSONDecodeError as err:
        raise UserError(src, "meta_json", f"not JSON ({err})") from None
    g = lg.from_json(str(data["graph_json"]), src)
    scores = {k[len("score_"):]: v for k, v in data.items() if k.startswith("score_")}
    channels = {k[len("channels_"):]: v for k, v in data.items() if k.startswith("channels_")}
    neurons = {k[len("neurons_"):]: v for k, v in data.items() if k.startswith("neurons_") and k != "neuron_samples"}
    cells = {k[len("pooled_cells_"):]: v for k, v in data.items() if k.startswith("pooled_cells_")}
    wl = Workload(g, data["spikes"], data["labels"], data["predictions"], scores, data["exit_timestep"],
                  meta, channels, src, neurons, data.get("neuron_samples"), cells)
    validate(wl, src)
    return wl


def fill_neuron_records(g: nx.DiGraph, meta: dict) -> None:
    """Files written before per-node neuron records existed: give each node the record its ``kind``
    implied (archsim.graph.default_neuron), so every loaded graph has one."""
    kind = meta.get("kind", "direct") if isinstance(meta, dict) else "direct"
    window = int(meta.get("window_steps", 1)) if isinstance(meta, dict) and kind == "ttfs" else 1
    for name in g.nodes:
        if "neuron" not in g.nodes[name]:
            lg.set_neuron(g, name, lg.default_neuron(g, name, kind, window))


def validate(wl: Workload, src: str = "workload") -> None:
    """The checks both the writer and the loader apply: shapes agree, counts are possible."""
    if not isinstance(wl.meta, dict):
        raise UserError(src, "meta_json", "must be a JSON object")
    for key in REQUIRED_META:
        if key not in wl.meta:
            raise UserError(src, f"meta_json.{key}", "missing")
    if wl.meta["kind"] not in KINDS:
        raise UserError(src, "meta_json.kind", f"must be one of {', '.join(KINDS)}, got {wl.meta['kind']!r}")
    lg.validate(wl.graph, src)
    sp = wl.spikes
    if sp.ndim != 3 or not np.issubdtype(sp.dtype, np.integer):
        raise UserError(src, "spikes", f"must be an integer array [N, L, T], got {sp.dtype} {sp.shape}")
    n, n_layers, t = sp.shape
    if n < 1 or t < 1:
        raise UserError(src, "spikes", f"empty shape {sp.shape}")
    if n_layers != wl.graph.number_of_nodes():
        raise UserError(src, "spikes", f"has {n_layers} layers, the graph has {wl.graph.number_of_nodes()}")
    if int(wl.meta["timesteps"]) != t:
        raise UserError(src, "meta_json.timesteps", f"{wl.meta['timesteps']} but spikes have T={t}")
    if (sp < 0).any():
        raise UserError(src, "spikes", "negative spike counts")
    neurons = np.array([lg.layer(wl.graph, name).neurons for name in lg.layer_names(wl.graph)])
    # A neuron fires at most once per timestep (a TTFS neuron at most once in all).
    over = np.nonzero((sp > neurons[None, :, None]).any(axis=(0, 2)))[0]
    if over.size:
        name = lg.layer_names(wl.graph)[over[0]]
        raise UserError(src, "spikes", f"layer {name} emits more spikes in a timestep than it has neurons")
    for key, arr, shape in (("labels", wl.labels, (n,)), ("predictions", wl.predictions, (n, t)),
                            ("exit_timestep", wl.exit_timestep, (n,))):
        if arr.shape != shape or not np.issubdtype(arr.dtype, np.integer):
            raise UserError(src, key, f"must be integers of shape {shape}, got {arr.dtype} {arr.shape}")
    if ((wl.exit_timestep < 1) | (wl.exit_timestep > t)).any():
        raise UserError(src, "exit_timestep", f"must lie in 1..{t}")
    for name, s in wl.scores.items():
        if s.shape != (n, t) or not np.issubdtype(s.dtype, np.floating):
            raise UserError(src, f"score_{name}", f"must be floats of shape {(n, t)}, got {s.dtype} {s.shape}")
        if not np.isfinite(s).all() or (s < 0).any() or (s > 1 + 1e-6).any():
            raise UserError(src, f"score_{name}", "NaN, infinite or outside [0, 1]")
    for layer, c in wl.channel_spikes_mean.items():
        if layer not in wl.graph or c.ndim != 2 or c.shape[1] != t:
            raise UserError(src, f"channels_{layer}", "unknown layer or not [C, T]")
        if not np.isfinite(c).all() or (c < 0).any():
            raise UserError(src, f"channels_{layer}", "NaN or negative counts")
    _validate_neuron_spikes(wl, src)
    _validate_pooled_cells(wl, src)


def _validate_neuron_spikes(wl: Workload, src: str) -> None:
    """Per-neuron records, where present: for known samples, for every spiking layer, and adding up to
    the per-layer totals in ``spikes`` (so the two can never disagree)."""
    if wl.neuron_samples is None:
        if wl.neuron_spikes:
            raise UserError(src, "neuron_samples", "missing: neurons_<layer> records need the samples they cover")
        return
    samples = np.asarray(wl.neuron_samples)
    n, _, t = wl.spikes.shape
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.integer) or len(samples) < 1 \
            or (np.diff(samples) <= 0).any() or samples.min() < 0 or samples.max() >= n:
        raise UserError(src, "neuron_samples", f"must be sorted distinct sample indices in 0..{n - 1}")
    names = lg.layer_names(wl.graph)
    for layer in names:
        spiking = lg.layer(wl.graph, layer).spiking
        if spiking and layer not in wl.neuron_spikes:
            raise UserError(src, f"neurons_{layer}", "missing: per-neuron records must cover every spiking layer")
    for layer, bits in wl.neuron_spikes.items():
        if layer not in wl.graph:
            raise UserError(src, f"neurons_{layer}", "unknown layer")
        nbytes = -(-lg.layer(wl.graph, layer).neurons // 8)
        if bits.dtype != np.uint8 or bits.shape != (len(samples), t, nbytes):
            raise UserError(src, f"neurons_{layer}", f"must be uint8 [{len(samples)}, {t}, {nbytes}], "
                            f"got {bits.dtype} {bits.shape}")
        totals = wl.neuron_raster(layer).sum(axis=-1)
        if not np.array_equal(totals, wl.spikes[samples, names.index(layer), :]):
            raise UserError(src, f"neurons_{layer}", "per-neuron spikes do not add up to the layer's totals in spikes")


def _validate_pooled_cells(wl: Workload, src: str) -> None:
    """Pooled-cell counts, where present: for a spiking [C, H, W] layer whose pooled out-edges share one
    factor p, and possible: each non-empty cell holds 1 to p^2 of the layer's spikes, and they equal the
    cells the per-neuron records fill where those exist."""
    names = lg.layer_names(wl.graph)
    n, _, t = wl.spikes.shape
    for layer, cells in wl.pooled_cells.items():
        key = f"pooled_cells_{layer}"
        if layer not in wl.graph or not lg.layer(wl.graph, layer).spiking:
            raise UserError(src, key, "unknown or non-spiking layer")
        shape, p = lg.layer(wl.graph, layer).shape, pooling.pool_factor(wl.graph, layer)
        if p <= 1 or len(shape) != 3:
            raise UserError(src, key, f"layer {layer} has no pooled out-edge of one factor on a [C, H, W] output")
        if cells.shape != (n, t) or not np.issubdtype(cells.dtype, np.integer):
            raise UserError(src, key, f"must be integers of shape {(n, t)}, got {cells.dtype} {cells.shape}")
        sp = wl.spikes[:, names.index(layer), :].astype(np.int64)
        if (cells < 0).any() or (cells > sp).any() or (sp > cells.astype(np.int64) * p * p).any():
            raise UserError(src, key, f"impossible: each non-empty cell holds 1 to {p * p} of the layer's spikes")
        if wl.neuron_samples is not None and layer in wl.neuron_spikes:
            filled = pooling.cell_raster(wl.neuron_raster(layer), shape, p).sum(axis=(2, 3, 4))
            if not np.array_equal(filled, cells[wl.neuron_samples]):
                raise UserError(src, key, "differs from the cells the per-neuron records fill")
