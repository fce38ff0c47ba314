"""The generative suite builds its worlds from the defs suite's prepared template (once per worker)."""

from ..defs.conftest import prepared_template  # noqa: F401
