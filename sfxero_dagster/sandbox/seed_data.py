"""The seed org's vocabulary and sizes: scales, countries, tenants, tax codes, names, products."""

from __future__ import annotations

from decimal import Decimal

SCALES: dict[str, dict[str, int]] = {
    "small": {"accounts": 50, "products": 20, "opportunities": 60, "orders": 25, "extra_xero_contacts": 15},
    "medium": {
        "accounts": 5_000,
        "products": 200,
        "opportunities": 20_000,
        "orders": 4_000,
        "extra_xero_contacts": 1_000,
    },
    # for bench/ P1-P2: about a thousand invoiceable opportunities, quick to generate and extract
    "bench": {
        "accounts": 400,
        "products": 40,
        "opportunities": 1400,
        "orders": 60,
        "extra_xero_contacts": 100,
    },
    # for bench/ P3: ~6,000 sendable invoices, all for one organisation (see SCALE_COUNTRIES)
    "p3": {
        "accounts": 1_500,
        "products": 40,
        "opportunities": 7_500,
        "orders": 400,
        "extra_xero_contacts": 100,
    },
    "large": {
        "accounts": 100_000,
        "products": 500,
        "opportunities": 125_000,
        "orders": 10_000,
        "extra_xero_contacts": 20_000,
    },
}

COUNTRIES = [
    # country, currency, tenant, phone prefix, cities
    ("Australia", "AUD", "au", "+61 2", ["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"]),
    ("New Zealand", "NZD", "au", "+64 9", ["Auckland", "Wellington", "Christchurch"]),
    ("United States", "USD", "au", "+1 415", ["San Francisco", "Austin", "Boston", "Denver"]),
    ("United Kingdom", "GBP", "uk", "+44 20", ["London", "Manchester", "Leeds", "Bristol"]),
    ("Ireland", "EUR", "uk", "+353 1", ["Dublin", "Cork", "Galway"]),
    ("Germany", "EUR", "uk", "+49 30", ["Berlin", "Hamburg", "Munich"]),
    ("France", "EUR", "uk", "+33 1", ["Paris", "Lyon", "Toulouse"]),
]
UK_TENANT_COUNTRIES = ("United Kingdom", "Ireland", "France", "Germany")
# Scales whose accounts all come from these countries, so one organisation gets every invoice (P3 paces
# one tenant's push); the other scales cycle through all of COUNTRIES.
SCALE_COUNTRIES: dict[str, tuple[str, ...]] = {"p3": UK_TENANT_COUNTRIES}
TENANTS = [
    {
        "key": "au",
        "name": "Acme Pty Ltd",
        "region": "AU",
        "base_currency": "AUD",
        "currencies": ["AUD", "USD", "NZD"],
        "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000a1",  # fixed: the shipped sfxero.yaml points here
    },
    {
        "key": "uk",
        "name": "Acme UK Ltd",
        "region": "UK",
        "base_currency": "GBP",
        "currencies": ["GBP", "USD", "EUR"],
        "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000b2",
    },
]
TAX_CODES = {"au": ("GST", "GST_FREE", "EXPORT"), "uk": ("VAT20", "VAT_ZERO", "VAT_EXEMPT")}
WORDS_A = [
    "Blue",
    "Northern",
    "Summit",
    "Harbour",
    "Golden",
    "Silver",
    "Pacific",
    "Atlas",
    "Cedar",
    "Redwood",
    "Iron",
    "Coastal",
    "Granite",
    "Maple",
    "Orbit",
    "Pioneer",
    "Quantum",
    "Riverside",
    "Sterling",
    "Vertex",
    "Willow",
    "Zenith",
]
WORDS_B = [
    "Logistics",
    "Foods",
    "Robotics",
    "Analytics",
    "Builders",
    "Textiles",
    "Pharma",
    "Energy",
    "Media",
    "Labs",
    "Systems",
    "Outfitters",
    "Consulting",
    "Dynamics",
    "Farms",
    "Motors",
    "Software",
    "Trading",
    "Studios",
    "Works",
]
SUFFIXES = {
    "au": ["Pty Ltd", "Pty Ltd", "Limited"],
    "uk": ["Ltd", "Limited", "PLC", "GmbH", "SARL"],
    "us": ["Inc", "LLC", "Corp"],
}
FIRST = [
    "Olivia",
    "Jack",
    "Amelia",
    "Noah",
    "Isla",
    "Leo",
    "Mia",
    "Oliver",
    "Ava",
    "Liam",
    "Chloe",
    "Ethan",
    "Sophie",
    "Lucas",
    "Grace",
    "Mason",
    "Ruby",
    "Henry",
    "Zoe",
    "James",
]
LAST = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Wilson",
    "Nguyen",
    "Martin",
    "Kelly",
    "Murphy",
    "Schmidt",
    "Dubois",
    "Garcia",
    "Chen",
    "Patel",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
]
STREETS = [
    "George St",
    "High St",
    "Main Rd",
    "Queen St",
    "King St",
    "Church Rd",
    "Station Rd",
    "Victoria St",
    "Park Ave",
]
PRODUCTS = [
    "Widget",
    "Gadget",
    "Sensor",
    "Controller",
    "Licence",
    "Support Plan",
    "Install Service",
    "Cable Kit",
    "Gateway",
    "Dashboard Seat",
    "Training Day",
    "Battery Pack",
]
REGIONS = ["North", "South", "East", "West"]
CENT = Decimal("0.01")
