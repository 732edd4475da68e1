"""Reading an ANN into stages: BatchNorm fusion and input-normalisation folding are exact; everything the
conversion cannot represent is a UserError naming the module."""
import pytest
import torch
from torch import nn

from archsim.errors import UserError
from snn.conversion.normalise import activation_scales
from snn.conversion.stages import fold_input_normalisation, forward, read_stages, scale_stages
from snn.models import build

from .helpers import small_convnet


def test_bn_fusion_and_input_folding_reproduce_the_ann():
    net = small_convnet(2)
    x = torch.rand(5, 3, 8, 8)
    st = read_stages(net, (3, 8, 8))
    assert [s.name for s in st] == ["conv1", "conv2", "out"]
    assert [s.pool for s in st] == [1, 2, 2] and [s.rectify for s in st] == [True, True, False]
    with torch.no_grad():
        assert torch.allclose(forward(st, x), net(x), atol=1e-5)
        mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
        xn = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        folded = fold_input_normalisation(st, mean, std)
        assert folded[0].bias.shape == (4, 8, 8)                 # per position: the border differs
        assert torch.allclose(forward(folded, x), net(xn), atol=1e-5)


def test_percentile_scaling_keeps_decisions_and_bounds_activations():
    net = small_convnet(4)
    x = torch.rand(32, 3, 8, 8)
    st = read_stages(net, (3, 8, 8))
    scales = activation_scales(st, [x], 100.0)
    sc = scale_stages(st, scales)
    with torch.no_grad():
        assert torch.equal(forward(sc, x).argmax(1), forward(st, x).argmax(1))
        _, pre = forward(sc, x, record=True)
    for s, z in zip(sc[:-1], pre[:-1]):
        assert torch.relu(z).max() <= 1 + 1e-5                   # the 100th percentile is the maximum


def test_small_ann_twin_reads():
    ann = build("small", 10, 1, neuron="relu").eval()
    st = read_stages(ann, (3, 32, 32))
    assert [s.name for s in st] == ["conv1", "conv2", "conv3", "out"]
    assert st[-1].in_shape == (128, 8, 8) and st[-1].pool == 2


@pytest.mark.parametrize("layer,match", [
    (nn.GELU(), "non-ReLU activation GELU"),
    (nn.Sigmoid(), "non-ReLU activation Sigmoid"),
    (nn.MaxPool2d(2), "unsupported layer MaxPool2d"),
    (nn.Upsample(scale_factor=1), "unsupported layer Upsample"),
])
def test_unsupported_modules_are_refused(layer, match):
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), layer, nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    with pytest.raises(UserError, match=match):
        read_stages(net, (3, 4, 4))


def test_spiking_and_residual_networks_are_refused():
    with pytest.raises(UserError, match="non-ReLU activation LIF"):
        read_stages(build("tiny", 4, 2, neuron="lif"), (3, 16, 16))
    with pytest.raises(UserError, match="residual"):
        read_stages(build("resnet19", 10, 1, neuron="relu"), (3, 32, 32))


def test_hidden_projection_without_relu_is_refused():
    with pytest.raises(UserError, match="followed by a ReLU"):
        read_stages(nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2)), (4,))


@pytest.mark.parametrize("kind", ["conv", "conv_stride", "linear"])
def test_sparse_projection_equals_dense(kind):
    """The event engine's scatter path (a few spikes) gives the dense projection and the reached mask."""
    from snn.conversion.stages import project, project_sparse
    if kind == "linear":
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                            nn.Linear(3 * 4 * 4, 5))
        st = read_stages(net, (2, 8, 8))[1]
    else:
        stride = 2 if kind == "conv_stride" else 1
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                            nn.Conv2d(3, 4, 3, stride=stride, padding=1), nn.ReLU())
        st = read_stages(net, (2, 8, 8))[1]
    st = st.__class__(**{**st.__dict__, "weight": st.weight.double()})
    g = torch.Generator().manual_seed(0)
    plane = (torch.rand(3, *st.in_shape, generator=g) < 0.1).double()
    dense = project(st, plane)
    sparse, reached = project_sparse(st, plane.nonzero(), 3)
    assert torch.allclose(dense, sparse, atol=1e-12)
    if st.kind == "conv":
        ones = st.__class__(**{**st.__dict__, "weight": torch.ones_like(st.weight)})
        assert torch.equal(reached, project(ones, plane).sum(1) > 0)
    else:
        assert torch.equal(reached, plane.flatten(1).any(1))
