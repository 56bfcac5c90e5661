"""The task file: its schema and loading (``spec``), the YAML reader that names the line at fault
(``yaml_input``), the generated reference (``reference``), the data splits (``data``) and the seed prompt, which
may come from the registry (``seed``)."""
