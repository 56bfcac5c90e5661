"""The pure core: candidates, Pareto maths, run state and the GEPA loop (stdlib + numpy only)."""
