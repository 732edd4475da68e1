"""ANN-to-SNN conversion: Quartz time-to-first-spike (TTFS) coding and a rate-coded baseline.

A ReLU ANN (snn.models.build(arch, neuron='relu'), trained by ``train_ann``) is read as a chain of affine
stages and converted; both codings simulate the same normalised stages, so their accuracy and synaptic
operations compare like for like. One concept per module:

- ``stages``: the ANN as stages (BatchNorm fused, input normalisation and average pooling folded in, the
  one place that says what converts and what is refused).
- ``normalise``: per-stage scale = a high percentile of the stage's activations on training images.
- ``quartz``: TTFS encode/decode and the simulation (a literal step engine and an exact event engine).
- ``rate``: integrate-and-fire neurons with reset by subtraction, T steps.
- ``counting``: fan-out per source neuron, synaptic operations.
- ``evaluate``: a coding over a whole test set, per-sample arrays.
- ``export``: the archsim workload (kind 'ttfs' or 'rate').
- ``train_ann``: training the ReLU ANN (``python -m snn.conversion.train_ann``).

The command line is ``python -m snn.convert`` (snn/convert.py).
"""
