from ..sandbox_salesforce.conftest import sf_sandbox  # noqa: F401  (re-exported fixture)
