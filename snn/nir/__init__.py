"""NIR import and export: spiking networks from other libraries reach the simulator, ours reach them.

The Neuromorphic Intermediate Representation (NIR, ``nir`` 1.0.8 / ``nirtorch`` 2.6) is the graph format
snnTorch, Norse, SpikingJelly, Sinabs, Lava-dl and Rockpool share: nodes (Conv2d, Affine, LIF, ...) with
their parameters, and edges; several edges into one node are summed. Two commands
(``python -m snn.nir export|import``, see ``__main__``), one concept per module:

- ``export``   our checkpoints (tiny, small, vgg16, resnet19) -> a NIR graph (BatchNorm folded);
- ``read``     a NIR file -> a checked graph and every node's output shape (unknown node types, recurrent
               edges and shape mismatches are one-line errors naming the node);
- ``graph``    the checked graph -> archsim's layer graph (one population per neuron node, pooling folded
               into the next projection, residual sums as residual edges, a neuron record per node);
- ``neurons``  NIR's neuron models (LIF, IF, CubaLIF; LI, I, CubaLI readouts) as torch modules, one
               timestep at a time, with per-neuron parameter arrays;
- ``network``  the graph as a runnable torch module (``nirtorch.nir_to_torch``) that runs T timesteps and
               reports its spikes the way our own networks do (so ``snn.inference.collect`` records them);
- ``importer`` the import command: data set -> spikes and per-timestep scores -> archsim workload.

``nir`` and ``nirtorch`` are optional (the ``nir`` extra); :func:`require` says how to install them.
"""
from __future__ import annotations

from archsim.errors import UserError

# What the dt of NIR's continuous-time equations is taken to be when none is given: the time step most
# NIR-speaking libraries (SpikingJelly, snnTorch, Norse) export with.
DEFAULT_DT = 1e-4


def require():
    """``(nir, nirtorch)``, or a UserError that says how to install them."""
    try:
        import nir
        import nirtorch
    except ImportError as err:
        raise UserError("snn.nir", "dependencies", f"{err.name or 'nir'} is not installed: "
                        "pip install nir==1.0.8 nirtorch==2.6 (the project's 'nir' extra)") from None
    return nir, nirtorch
