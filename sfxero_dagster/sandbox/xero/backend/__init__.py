"""Per-resource backends of the Xero emulator: each holds one resource's rules and its endpoints."""
