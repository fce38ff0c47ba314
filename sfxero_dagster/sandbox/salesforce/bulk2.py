"""Old home of the Bulk API 2.0 backend, kept so ``from sfxero_dagster.sandbox.salesforce import bulk2``
(and a test's ``monkeypatch.setattr(bulk2, "INTERNAL_BATCH", n)``) still reach the real module: this
name is bound to :mod:`.backend.bulk2` itself, not to a copy of its names.
"""

import sys

from .backend import bulk2 as _backend

sys.modules[__name__] = _backend
