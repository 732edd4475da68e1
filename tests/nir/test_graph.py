"""NIR graphs -> archsim layer graphs, counted by hand; what cannot be mapped is one error naming the node."""
import h5py
import numpy as np
import pytest

nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")

from archsim.errors import UserError  # noqa: E402
from snn.nir.graph import layer_plan  # noqa: E402
from snn.nir.read import check_graph, infer_shapes, read_graph  # noqa: E402
from tests.nir.conftest import conv, lif, mixed_graph  # noqa: E402

DT = 1e-4


def plan_of(graph, encoding="dense"):
    check_graph(graph)
    return layer_plan(graph, infer_shapes(graph), encoding, DT)


def test_shapes_follow_the_nodes_own_parameters():
    g = mixed_graph()
    check_graph(g)
    s = infer_shapes(g)
    assert s["c1"] == (4, 4, 4) and s["sp"] == (4, 2, 2) and s["c2"] == (8, 2, 2) and s["ap"] == (8, 1, 1)
    assert s["fl"] == (8,) and s["fc"] == (3,) and s["output"] == (3,)


def test_layer_graph_counted_by_hand():
    p = plan_of(mixed_graph())
    g = p.graph
    assert [n for n in sorted(g, key=lambda n: g.nodes[n]["index"])] == ["input", "c1", "c2", "fc"]
    assert p.spiking == ["l1", "l2"] and p.population == {"c1": "l1", "c2": "l2", "fc": "li"}
    c1, c2, fc = g.nodes["c1"], g.nodes["c2"], g.nodes["fc"]
    # 3x3, stride 2, padding 1 over 8 pixels: 2 + 3 + 3 + 3 = 11 taps per axis; 3 x 4 x 11 x 11
    assert (c1["shape"], c1["kernel"], c1["stride"], c1["padding"]) == ([4, 4, 4], 3, 2, 1)
    assert c1["weights"] == 3 * 4 * 9 and c1["synapses"] == 3 * 4 * 11 * 11
    # groups 2: each output channel reads 2 of the 4 pooled channels; 2 pixels -> 2 + 2 taps per axis
    e = g.edges["c1", "c2"]
    assert e["pool"] == 2 and e["groups"] == 2 and c2["in_shape"] == [4, 2, 2]
    assert c2["weights"] == 2 * 8 * 9 and c2["synapses"] == 2 * 8 * 4 * 4 * 2 * 2
    assert e["fan_out"] == pytest.approx(2 * 8 * 4 * 4 / (4 * 2 * 2))
    # AvgPool 2 folded into the linear readout: 8 inputs x 3 outputs, each pooled cell read 4 times
    assert g.edges["c2", "fc"]["pool"] == 2 and fc["weights"] == 24 and fc["synapses"] == 96
    assert c1["spiking"] and c2["spiking"] and not fc["spiking"]


def test_neuron_records_name_the_model_its_state_and_parameters():
    g = plan_of(mixed_graph()).graph
    r1, r2, r3 = (g.nodes[n]["neuron"] for n in ("c1", "c2", "fc"))
    assert (r1["model"], r1["state_words"], r1["update"]) == ("lif", 1, "every_step")
    assert r1["params"]["tau_steps"] == pytest.approx(2.0) and r1["params"]["v_threshold"] == 0.5
    assert (r2["model"], r2["state_words"]) == ("cuba_lif", 2)        # current and voltage
    assert r2["params"]["v_threshold"] == pytest.approx({"min": 0.5, "mean": 1.0, "max": 1.5})
    assert r2["params"]["tau_mem_steps"] == pytest.approx(4.0) and r2["params"]["nir_type"] == "CubaLIF"
    assert (r3["model"], r3["state_words"], r3["params"]["nir_type"]) == ("integrator", 1, "LI")
    assert r1["params"]["reset"] == "hard" and "reset" not in r3["params"]


def residual_graph():
    """Residual sums: the identity (l1 -> l3) and a strided 1x1 convolution (l3 -> l5), as in ResNets."""
    nodes = {"input": nir.Input(input_type={"input": np.array([2, 4, 4])}),
             "c1": conv(2, 4, (4, 4)), "l1": lif((4, 4, 4)),
             "c2": conv(4, 4, (4, 4), seed=1), "l2": lif((4, 4, 4)),
             "c3": conv(4, 4, (4, 4), seed=2), "l3": lif((4, 4, 4)),
             "c4": conv(4, 8, (4, 4), stride=2, seed=3), "l4": lif((8, 2, 2)),
             "c5": conv(8, 8, (2, 2), seed=4), "sc5": conv(4, 8, (4, 4), k=1, padding=0, stride=2, seed=5),
             "l5": lif((8, 2, 2)), "fl": nir.Flatten(input_type={"input": np.array([8, 2, 2])}),
             "out": nir.Affine(weight=np.ones((2, 32), np.float32), bias=np.zeros(2, np.float32)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "c1"), ("c1", "l1"), ("l1", "c2"), ("c2", "l2"), ("l2", "c3"), ("c3", "l3"), ("l1", "l3"),
             ("l3", "c4"), ("c4", "l4"), ("l4", "c5"), ("c5", "l5"), ("l3", "sc5"), ("sc5", "l5"), ("l5", "fl"),
             ("fl", "out"), ("out", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_residual_sums_become_residual_edges():
    g = plan_of(residual_graph()).graph
    assert sorted(g, key=lambda n: g.nodes[n]["index"]) == ["input", "c1", "c2", "c3", "c4", "c5", "out"]
    ident, strided = g.edges["c1", "c3"], g.edges["c3", "c5"]
    assert ident["kind"] == "residual" and ident["op"] == "identity" and ident["synapses"] == 64
    assert strided["kind"] == "residual" and strided["op"] == "conv" and strided["kernel"] == 1
    assert strided["stride"] == 2 and strided["weights"] == 32 and strided["synapses"] == 4 * 8 * 2 * 2
    # 3x3, padding 1 over 4 pixels: 2 + 3 + 3 + 2 = 10 taps per axis; plus the 64 identity synapses
    assert g.nodes["c3"]["synapses"] == 4 * 4 * 10 * 10 + 64
    assert not g.nodes["out"]["spiking"] and g.nodes["out"]["neuron"]["model"] == "integrator"


@pytest.mark.parametrize("edit, field, words", [
    # pooling (1x1 here, to keep the shapes) between a projection and its neurons
    (lambda n, e: (n.update(p=nir.AvgPool2d(kernel_size=np.array(1), stride=np.array(1), padding=np.array(0))),
                   e.remove(("c1", "l1")), e.extend([("c1", "p"), ("p", "l1")])), "nodes.p", "AvgPool2d node p"),
    # two projections in a row
    (lambda n, e: (n.update(c0=conv(4, 4, (4, 4))), e.remove(("c1", "l1")), e.extend([("c1", "c0"), ("c0", "l1")])),
     "nodes.c1", "Conv2d node c1"),
    # a 3x3 convolution as a second input: not a shortcut archsim models
    (lambda n, e: (n.update(sc=conv(4, 4, (4, 4))), e.extend([("l1", "sc"), ("sc", "l3")])), "nodes.sc", "shortcut"),
    # a shortcut from the population the main projection reads: archsim has one edge per pair of layers
    (lambda n, e: e.append(("l2", "l3")), "nodes.l2", "one edge per pair"),
    # a recurrent edge
    (lambda n, e: e.append(("l2", "c2")), "nodes.c2", "recurrent"),
    # neurons straight on the input
    (lambda n, e: (n.update(l0=lif((2, 4, 4))), e.remove(("input", "c1")), e.extend([("input", "l0"), ("l0", "c1")])),
     "nodes.l0", "no Conv2d/Affine/Linear input"),
    # an Affine that does not fit its input
    (lambda n, e: n.update(out=nir.Affine(weight=np.ones((2, 31), np.float32), bias=np.zeros(2, np.float32))),
     "nodes.out", "shape mismatch"),
    # a neuron parameter array of the wrong shape
    (lambda n, e: n.update(l1=lif((4, 3, 3))), "nodes.l1", "shape mismatch"),
    # a Conv2d that states another input size
    (lambda n, e: n.update(c2=conv(4, 4, (5, 5))), "nodes.c2", "input_shape"),
])
def test_unmappable_graphs_are_one_error_naming_the_node(edit, field, words):
    base = residual_graph()
    nodes, edges = dict(base.nodes), list(base.edges)
    edit(nodes, edges)
    g = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    with pytest.raises(UserError) as err:
        plan_of(g)
    assert err.value.field == field and words in err.value.message, str(err.value)
    assert "\n" not in str(err.value)


def test_file_with_a_node_type_archsim_cannot_map(tmp_path):
    path = tmp_path / "m.nir"
    nir.write(path, residual_graph())
    assert infer_shapes(read_graph(path))["output"] == (2,)
    for kind in ("Threshold", "Conv1d", "NoSuchNode"):
        with h5py.File(path, "r+") as f:
            del f["node"]["nodes"]["l2"]["type"]
            f["node"]["nodes"]["l2"].create_dataset("type", data=kind, dtype=h5py.string_dtype())
        with pytest.raises(UserError) as err:
            read_graph(path)
        assert err.value.field == "nodes.l2" and f"node type {kind}" in err.value.message


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(UserError, match="no such NIR file"):
        read_graph(tmp_path / "absent.nir")
    (tmp_path / "x.nir").write_text("not hdf5")
    with pytest.raises(UserError, match="not a NIR file"):
        read_graph(tmp_path / "x.nir")
    with h5py.File(tmp_path / "y.nir", "w") as f:
        f.create_dataset("something", data=1)
    with pytest.raises(UserError, match="not a NIR file"):
        read_graph(tmp_path / "y.nir")
