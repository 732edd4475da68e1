"""archsim: a discrete-event simulator of an SNN accelerator.

config + workload -> mapping -> simulation -> counts -> energy -> report. This package's import is kept
light (numpy, networkx): the trainer imports ``archsim.workload`` on machines without simpy.
"""
