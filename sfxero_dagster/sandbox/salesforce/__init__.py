"""Salesforce REST/Bulk 2.0 emulator (served over TLS for simple-salesforce)."""
