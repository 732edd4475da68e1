"""The mesh's geometry, in one place: where each tile and core sits, the links, XY routes and hop counts.

A rows x cols 2D mesh of tiles, one router per tile and ``cores_per_tile`` cores behind it; core ``c``
sits in tile ``c // cores_per_tile``. Positions are ``(row, col)``; directions: east = +column,
north = +row. The hwconfig's ``mesh`` section (archsim.hwconfig.schema.Mesh) says which numbering;
the mapping (archsim.mapping) routes spikes with the paths here; the timing backends only see link ids.

A system of chips (``mesh.chips``) is one global grid of tiles: a chip_rows x chip_cols grid of chips,
each a rows x cols mesh, chip (i, j) holding global rows i*rows .. (i+1)*rows-1 and columns likewise.
XY routing runs over the global grid; a link between tiles of two chips is a chip-to-chip link
(:func:`chip_links`), every other link an on-chip one. Cores are numbered chip by chip
(:func:`system_tiles`).

Pure functions of integers: nothing here imports the rest of archsim, so the hwconfig schema, the
mapping and the action table can all use it.
"""
from __future__ import annotations

import numpy as np

Position = tuple[int, int]
Link = tuple[Position, Position]          # a directed link between neighbouring tiles
DIRECTIONS = ("east", "west", "north", "south")   # +col, -col, +row, -row on the mesh
NUMBERINGS = ("snake", "row_major", "column_major")


def tile_positions(rows: int, cols: int, numbering: str = "snake",
                   explicit: list[tuple[int, int]] | None = None) -> list[Position]:
    """Mesh position of every tile, in tile-id order: ``explicit`` when given (one per tile), else by
    ``numbering``: ``snake`` (row 0 left to right, row 1 right to left, ...: consecutive ids are
    neighbours), ``row_major``, or ``column_major`` (SANA-FE's order: id -> row id % rows, column
    id // rows)."""
    if explicit is not None:
        return [(int(r), int(c)) for r, c in explicit]
    if numbering == "column_major":
        return [(t % rows, t // rows) for t in range(rows * cols)]
    if numbering == "row_major":
        return [(r, c) for r in range(rows) for c in range(cols)]
    return [(r, c if r % 2 == 0 else cols - 1 - c) for r in range(rows) for c in range(cols)]


def core_positions(tiles: list[Position], cores_per_tile: int) -> list[Position]:
    """Mesh position of every core (its tile's), in core-id order."""
    return [p for p in tiles for _ in range(cores_per_tile)]


def system_tiles(chip_tiles: list[Position], rows: int, cols: int, chip_rows: int, chip_cols: int) -> list[Position]:
    """Global position of every tile of a chip_rows x chip_cols grid of chips, each a rows x cols mesh
    with its tiles at ``chip_tiles`` (one chip's positions, tile-id order): chip by chip, the chips in
    snake order (consecutive chips are neighbours, as consecutive tiles of a snake-numbered chip are),
    so consecutive cores stay on one chip or the next."""
    return [(cr * rows + r, cc * cols + c) for cr, cc in tile_positions(chip_rows, chip_cols, "snake")
            for r, c in chip_tiles]


def chip_hops(a: np.ndarray, b: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Chip boundaries the XY route from each position of ``a`` to the matching one of ``b`` crosses (int
    [E, 2] global (row, col) each; chips of rows x cols tiles): the chip-to-chip links it takes."""
    size = np.array([rows, cols])
    return np.abs(b // size - a // size).sum(axis=-1)


def tile_of(core: int, cores_per_tile: int) -> int:
    """The tile (router) a core sits behind: spikes between cores of one tile cross no link."""
    return int(core) // cores_per_tile


def xy_path(a: Position, b: Position) -> list[Link]:
    """Links of the XY (column first, then row) route from a to b."""
    links, (r, c) = [], a
    while c != b[1]:
        nc = c + (1 if b[1] > c else -1)
        links.append(((r, c), (r, nc)))
        c = nc
    while r != b[0]:
        nr = r + (1 if b[0] > r else -1)
        links.append(((r, c), (nr, c)))
        r = nr
    return links


def link_index(rows: int, cols: int) -> tuple[list[Link], dict[Link, int]]:
    """Every directed link of the mesh (link id -> link) and its inverse."""
    links = []
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                if 0 <= r + dr < rows and 0 <= c + dc < cols:
                    links.append(((r, c), (r + dr, c + dc)))
    return links, {link: i for i, link in enumerate(links)}


def direction_counts(a: Position, b: Position) -> np.ndarray:
    """Hops of the XY route a -> b per direction (DIRECTIONS order: east, west, north, south)."""
    dc, dr = b[1] - a[1], b[0] - a[0]
    return np.array([max(dc, 0), max(-dc, 0), max(dr, 0), max(-dr, 0)], dtype=np.int64)


_STEPS = ((0, 1), (0, -1), (1, 0), (-1, 0))      # DIRECTIONS as (row, col) steps: link_index's order


def link_grid(rows: int, cols: int) -> np.ndarray:
    """``[rows, cols, 4]`` id (link_index order) of the link leaving each tile in each DIRECTIONS
    direction, -1 at the mesh's edge: link ids by arithmetic instead of a dict of tuples."""
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    inside = np.stack([(0 <= r + dr) & (r + dr < rows) & (0 <= c + dc) & (c + dc < cols) for dr, dc in _STEPS], -1)
    grid = np.full((rows, cols, 4), -1, dtype=np.int64)
    grid[inside] = np.arange(int(inside.sum()))           # C order (row, col, direction) = link_index's
    return grid


def expand_runs(starts: np.ndarray, lengths: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs i of ``lengths[i]`` values ``starts[i] + steps[i] * j``: (run of each value, the value)."""
    run = np.repeat(np.arange(len(lengths)), lengths)
    j = np.arange(len(run)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return run, starts[run] + steps[run] * j


_BLOCK = 1 << 22          # hops of the sets taken at once (a bound on the tree entries made at once)


def _shared_runs(group: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight runs of links that leave one tile in one direction together (``group[i]``: same set, same
    start tile, same direction; ``length[i]`` links each): per group, the links k = 0, 1, ... of its longest
    run and how many of its runs cross each (those longer than k). Returns (a run of the group, as an index
    into ``group``; k; crossings), one entry per link of the group's tree, not per hop of every run."""
    keep = np.flatnonzero(length > 0)
    n = length[keep]
    _, first, of = np.unique(group[keep], return_index=True, return_inverse=True)
    of = of.reshape(-1)
    longest = np.zeros(len(first), np.int64)
    np.maximum.at(longest, of, n)
    start = np.cumsum(longest) - longest           # where each group's links begin among the entries
    total = int(longest.sum())
    # a run of n links crosses entries start .. start + n - 1 of its group: +1 there, -1 after, summed up
    crossings = np.cumsum(np.bincount(start[of], minlength=total + 1)
                          - np.bincount(start[of] + n, minlength=total + 1))[:total]
    g = np.repeat(np.arange(len(first)), longest)
    return keep[first[g]], np.arange(total) - start[g], crossings


def xy_links_by_set(pair_set: np.ndarray, src: np.ndarray, dest: np.ndarray, grid: np.ndarray, n_sets: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The links of the XY routes (:func:`xy_path`: column first, then row) of many (source, destination)
    pairs at once, ``src``/``dest`` int [E, 2] (row, col) and each pair's set ``pair_set [E]`` (sorted;
    e.g. the destinations one spike reaches): per set, its links and how many of its routes cross each
    (unicast packets per link; the multicast tree is the set of them). Returns (set, link id, crossings),
    each (set, link) once, in no particular order. Pure arithmetic on link ids (``grid``: :func:`link_grid`),
    in blocks of sets.

    Why per tree and not per hop: the routes of a set from one source share their first run along the
    source's row, and those to one column share its run down that column (:func:`_shared_runs`), so a set
    costs its distinct links, not the hops of all its routes (a 224x224 VGG16 layer's spikes fan out to
    hundreds of cores: 46 M hops, 6 M distinct links)."""
    n_links, (rows, cols) = int(grid.max()) + 1, grid.shape[:2]
    hops = np.abs(dest - src).sum(axis=1)
    cum = np.cumsum(np.bincount(pair_set, weights=hops, minlength=n_sets))
    set_end = np.searchsorted(pair_set, np.arange(n_sets), side="right")   # first pair after each set
    sets, links, uses, lo, lo_set = [], [], [], 0, 0
    while lo < len(pair_set):              # blocks of whole sets: a set's links come out once
        base = cum[lo_set - 1] if lo_set else 0.0
        hi_set = max(lo_set + 1, int(np.searchsorted(cum, base + _BLOCK, side="right")))
        hi = int(set_end[hi_set - 1])
        s, d, p = src[lo:hi], dest[lo:hi], pair_set[lo:hi].astype(np.int64)
        dc, dr = d[:, 1] - s[:, 1], d[:, 0] - s[:, 0]
        # along the source's row (east: direction 0, west: 1), then the destination's column (north 2, south 3)
        west, south = dc < 0, dr < 0
        i, k, h_n = _shared_runs(((p * rows + s[:, 0]) * cols + s[:, 1]) * 2 + west, np.abs(dc))
        h_key = p[i] * n_links + grid[s[i, 0], s[i, 1] + np.where(west[i], -k, k), west[i].astype(np.int64)]
        j, k, v_n = _shared_runs(((p * rows + s[:, 0]) * cols + d[:, 1]) * 2 + south, np.abs(dr))
        v_key = p[j] * n_links + grid[s[j, 0] + np.where(south[j], -k, k), d[j, 1], 2 + south[j].astype(np.int64)]
        key, n = np.concatenate([h_key, v_key]), np.concatenate([h_n, v_n])
        one_source = np.all((s[1:] == s[:-1]).all(axis=1) | (p[1:] != p[:-1]))
        if not one_source:                 # several sources in a set: their trees may share links
            key, at = np.unique(key, return_inverse=True)
            n = np.bincount(at.reshape(-1), weights=n, minlength=len(key)).astype(np.int64)
        sets.append(key // n_links)
        links.append(key % n_links)
        uses.append(n)
        lo, lo_set = hi, hi_set
    if not sets:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(sets), np.concatenate(links), np.concatenate(uses)


def chip_links(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``[links]`` bool: whether each link of ``grid`` (:func:`link_grid` of the whole system) joins two
    chips of rows x cols tiles (all False on one chip)."""
    r, c = np.meshgrid(np.arange(grid.shape[0]), np.arange(grid.shape[1]), indexing="ij")
    out = np.zeros(int(grid.max()) + 1, dtype=bool)
    for d, (dr, dc) in enumerate(_STEPS):
        inside = grid[:, :, d] >= 0
        crosses = ((r + dr) // rows != r // rows) | ((c + dc) // cols != c // cols)
        out[grid[:, :, d][inside]] = crosses[inside]
    return out


def link_directions(grid: np.ndarray) -> np.ndarray:
    """``[links]`` DIRECTIONS index of every link id of ``grid``."""
    out = np.empty(int(grid.max()) + 1, dtype=np.int64)
    ids = grid >= 0
    out[grid[ids]] = np.nonzero(ids)[2]
    return out
