"""archsim: a discrete-event simulator of an SNN accelerator.

hwconfig + workload -> exit plan -> mapping -> counts -> cycles -> timing -> energy -> report (the chain
tests/archsim/test_import_graph.py holds the modules to). This package's import is kept light (numpy,
networkx): the trainer imports ``archsim.workload`` on machines without simpy.
"""
