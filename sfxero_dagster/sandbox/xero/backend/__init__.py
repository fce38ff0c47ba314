"""Per-resource backends of the Xero emulator: each holds one resource's rules and its endpoints.

They share one record store; a backend that needs another resource's rules (an invoice's contact,
a payment's invoice) is handed that backend, so the dependencies run one way:
organisation <- items, contacts <- documents <- payments, allocations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ...clock import SandboxClock
from ...store import RecordStore
from ..render import Renderer
from .allocations import AllocationsBackend
from .contacts import ContactsBackend
from .documents import DocumentsBackend
from .items import ItemsBackend
from .organisation import OrganisationBackend
from .payments import PaymentsBackend


@dataclass(frozen=True)
class XeroBackends:
    organisation: OrganisationBackend
    contacts: ContactsBackend
    items: ItemsBackend
    documents: DocumentsBackend
    payments: PaymentsBackend
    allocations: AllocationsBackend

    @classmethod
    def build(
        cls,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        render: Renderer,
        base_url: Callable[[], str],
    ) -> XeroBackends:
        shared = (store, lock, clock, render)
        organisation = OrganisationBackend(*shared)
        contacts = ContactsBackend(*shared)
        items = ItemsBackend(*shared, organisation)
        documents = DocumentsBackend(*shared, organisation, contacts, items, base_url)
        return cls(
            organisation=organisation,
            contacts=contacts,
            items=items,
            documents=documents,
            payments=PaymentsBackend(*shared, organisation, documents),
            allocations=AllocationsBackend(*shared, organisation, contacts, documents),
        )
