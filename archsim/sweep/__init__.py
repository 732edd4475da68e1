"""Design-space sweeps: a sweep file (spec), run on Dask (runner), streamed to a table (store), and the
Pareto front of the result (pareto). ``cli`` wires them into ``archsim sweep`` and ``archsim pareto``."""
