from ..defs.conftest import prepared_template, prepared_world  # noqa: F401  (re-exported fixtures)
