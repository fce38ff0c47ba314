"""Record-level validation of staged records against the target Xero organisation, before any export.

Every failing record becomes one reject row per reason (reason code, field, value, actionable hint),
and an invoice with any ERROR-severity problem on any of its lines is held back whole: Xero never gets
half an invoice. WARN reasons are reported but do not block. Checks are vectorised (pandas masks), so a
million lines validate in seconds rather than minutes.

- ``rejects``: the reject rows and the result type;
- ``reference``: what an organisation accepts, from its Xero snapshot;
- ``customers`` and ``invoices``: the checks.
"""

from sfxero_dagster.core.validation.customers import validate_customers
from sfxero_dagster.core.validation.invoices import validate_invoices
from sfxero_dagster.core.validation.reference import TenantReference, references_from_frames
from sfxero_dagster.core.validation.rejects import REJECT_COLUMNS, ValidationResult

__all__ = [
    "REJECT_COLUMNS",
    "TenantReference",
    "ValidationResult",
    "references_from_frames",
    "validate_customers",
    "validate_invoices",
]
