"""snn: the ATSNN trainer (directly trained LIF SNNs with adaptive-timestep inference) and the export of
their measured spike workloads to archsim.

Layout (one concept per module): ``surrogate`` (spike functions with surrogate gradients), ``neurons``
(the LIF step function and its multi-step loops), ``layers`` (tdBN, T*B flattening, direct encoding),
``models`` (tiny / small / vgg16 / resnet19 and the registry), ``losses`` (mean, TET, ATSNN),
``exit_policy`` (scores and the exit rule), ``data`` (datasets held as uint8 tensors on the device),
``checkpoint``, and the command lines ``train``, ``evaluate``, ``export``.
"""
