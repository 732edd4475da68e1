"""The results table: rows survive a kill, a cut-short last line is dropped, floats read back exactly."""
import math

from archsim.sweep.store import ResultsStore, done_hashes, read_results


def test_rows_are_on_disk_as_soon_as_appended(tmp_path):
    path = tmp_path / "results.csv"
    store = ResultsStore.open(path, ["hash", "x"])
    store.append({"hash": "a1", "x": 0.1 + 0.2})
    # Read while still open: a SIGKILL now would leave exactly this on disk.
    assert done_hashes(path) == {"a1"}
    assert read_results(path)["x"].iloc[0] == 0.1 + 0.2  # repr round-trips bit for bit
    store.close()


def test_partial_last_line_is_dropped_on_reopen(tmp_path):
    path = tmp_path / "results.csv"
    with ResultsStore.open(path, ["hash", "x"]) as store:
        store.append({"hash": "a1", "x": 1.5})
        store.append({"hash": "b2", "x": 2.5})
    with open(path, "ab") as f:
        f.write(b"c3,3.")  # a write cut short by a kill
    with ResultsStore.open(path, ["hash", "x"]) as store:
        assert store.done_hashes() == {"a1", "b2"}
        store.append({"hash": "c3", "x": 3.5})
    df = read_results(path)
    assert list(df["hash"]) == ["a1", "b2", "c3"] and list(df["x"]) == [1.5, 2.5, 3.5]


def test_new_column_widens_header_once(tmp_path):
    path = tmp_path / "results.csv"
    with ResultsStore.open(path, ["hash", "status", "error"]) as store:
        store.append({"hash": "a1", "status": "infeasible", "error": "fits: no\nsecond line"})
        store.append({"hash": "b2", "status": "ok", "error": "", "fps": 12.0, "energy_j": 1e-3})
        store.append({"hash": "c3", "status": "ok", "error": "", "fps": 13.0, "energy_j": 2e-3})
    df = read_results(path)
    assert list(df.columns) == ["hash", "status", "error", "fps", "energy_j"]
    assert math.isnan(df["fps"].iloc[0]) and df["fps"].iloc[2] == 13.0
    assert df["error"].iloc[0] == "fits: no second line"
    assert not list(tmp_path.glob(".*tmp"))


def test_reopen_keeps_existing_header_and_adds_missing_columns(tmp_path):
    path = tmp_path / "results.csv"
    with ResultsStore.open(path, ["hash", "a"]) as store:
        store.append({"hash": "h1", "a": 1})
    with ResultsStore.open(path, ["hash", "b"]) as store:
        assert store.columns == ["hash", "a", "b"]
        store.append({"hash": "h2", "a": 2, "b": 3})
    assert read_results(path).shape == (2, 3)


def test_done_hashes_ignores_a_cut_short_row(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("hash,x\na1,1.0\nb2,2")  # b2's row may be missing columns: it is not done
    assert done_hashes(path) == {"a1"}
