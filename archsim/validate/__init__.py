"""Validation against other simulators: ``archsim validate sanafe`` (archsim.validate.cli).

``network``: a small network given as a layer list (YAML) with its weights; ``sanafe``: runs SANA-FE
(pip ``sanafe``, an optional extra) on it; ``compare``: feeds SANA-FE's spike trains to archsim and sets
the two side by side.
"""
