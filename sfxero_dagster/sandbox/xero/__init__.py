"""Xero Accounting API emulator (tokens, connections, organisation settings, contacts, items, invoices,
credit notes, payments, allocations), with Xero's arithmetic, validation, paging and rate limits."""
