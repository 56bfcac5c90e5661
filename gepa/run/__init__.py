"""A run, from a prepared task to its results: building the models and the system (``assembly``), preparing
and executing it (``runner``), the estimate a dry run prints (``estimate``), the run directory (``rundir``), the
summary and its diagnosis, the report, the progress shown, export to the registry, Ray rollouts
(``ray_executor``) and MLflow tracking (``tracking``)."""
