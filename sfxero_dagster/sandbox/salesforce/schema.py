"""Salesforce object metadata for the emulator, loaded from ``schema.yaml``.

Lookups are case-insensitive, as Salesforce's API names are. ``describe()`` renders the REST describe
shape so simple-salesforce's ``sf.Account.describe()`` works against the emulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")
FIELD_TYPES = {
    "id",
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "boolean",
    "int",
    "double",
    "currency",
    "percent",
    "date",
    "datetime",
    "reference",
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    readonly: bool = False
    system: bool = False
    # Auto-number display format such as ``{00000000}`` or ``INV-{0000}``: the braces hold the minimum
    # digits; a number that outgrows them is printed in full, as Salesforce does.
    auto_number: str | None = None
    auto_number_start: int = 1

    @property
    def createable(self) -> bool:
        return not (self.readonly or self.system)

    @property
    def nillable(self) -> bool:
        return not self.required and self.type != "boolean"

    def _auto_parts(self) -> tuple[str, int, str]:
        m = re.fullmatch(r"([^{}]*)\{(0+)\}([^{}]*)", self.auto_number or "")
        if m is None:
            raise ValueError(f"{self.name}: bad auto-number display format {self.auto_number!r}")
        return m.group(1), len(m.group(2)), m.group(3)

    def format_auto_number(self, n: int) -> str:
        prefix, width, suffix = self._auto_parts()
        return f"{prefix}{n:0{width}d}{suffix}"

    def parse_auto_number(self, value: Any) -> int | None:
        """The number inside a displayed auto-number (``None`` for a value not in this format)."""
        prefix, _, suffix = self._auto_parts()
        m = re.fullmatch(re.escape(prefix) + r"(\d+)" + re.escape(suffix), str(value or ""))
        return int(m.group(1)) if m else None


@dataclass(frozen=True)
class ChildRelationship:
    name: str
    child_object: str
    field: str


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    children: dict[str, ChildRelationship] = field(default_factory=dict)
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _relationships: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {k.lower(): k for k in self.fields}
        self._relationships = {f.relationship.lower(): f for f in self.fields.values() if f.relationship}
        self._children_lower = {k.lower(): v for k, v in self.children.items()}

    def field(self, name: str) -> FieldDef | None:
        key = self._lower.get(name.lower())
        return self.fields[key] if key else None

    def relationship(self, name: str) -> FieldDef | None:
        """The lookup field behind a parent relationship name (``Account`` → ``AccountId``)."""
        return self._relationships.get(name.lower())

    def child(self, name: str) -> ChildRelationship | None:
        return self._children_lower.get(name.lower())

    def external_ids(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.external_id or f.name == "Id"]

    def describe(self, api_version: str = "59.0") -> dict[str, Any]:
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.name.replace("__c", "").replace("_", " "),
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "fields": [_describe_field(f) for f in self.fields.values()],
            "childRelationships": [
                {
                    "relationshipName": c.name,
                    "childSObject": c.child_object,
                    "field": c.field,
                    "cascadeDelete": False,
                }
                for c in self.children.values()
            ],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }


def _describe_field(f: FieldDef) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.name.replace("__c", "").replace("_", " "),
        "type": f.type,
        "length": f.length or 0,
        "precision": f.precision or 0,
        "scale": f.scale or 0,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.createable and f.name != "Id",
        "externalId": f.external_id,
        "unique": f.unique,
        "custom": f.name.endswith("__c"),
        "calculated": f.readonly and not f.system and f.auto_number is None,
        "autoNumber": f.auto_number is not None,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False} for v in f.picklist
        ],
        "restrictedPicklist": f.restricted,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship,
    }


@dataclass
class Schema:
    objects: dict[str, ObjectDef]

    def __post_init__(self) -> None:
        self._lower = {k.lower(): k for k in self.objects}
        self._prefix = {o.key_prefix: o.name for o in self.objects.values()}

    def get(self, name: str) -> ObjectDef | None:
        key = self._lower.get(name.lower())
        return self.objects[key] if key else None

    def by_prefix(self, record_id: str) -> ObjectDef | None:
        name = self._prefix.get(record_id[:3])
        return self.objects[name] if name else None


_SYSTEM = [
    FieldDef("Id", "id", 18, system=True),
    FieldDef("IsDeleted", "boolean", system=True),
    FieldDef("CreatedDate", "datetime", system=True),
    FieldDef("CreatedById", "reference", 18, reference_to=("User",), relationship="CreatedBy", system=True),
    FieldDef("LastModifiedDate", "datetime", system=True),
    FieldDef(
        "LastModifiedById",
        "reference",
        18,
        reference_to=("User",),
        relationship="LastModifiedBy",
        system=True,
    ),
    FieldDef("SystemModstamp", "datetime", system=True),
]


def parse_schema(data: dict[str, Any]) -> Schema:
    objects = {}
    for name, spec in data["objects"].items():
        fields: dict[str, FieldDef] = {f.name: f for f in _SYSTEM}
        if spec.get("owned"):
            fields["OwnerId"] = FieldDef(
                "OwnerId", "reference", 18, reference_to=("User",), relationship="Owner"
            )
        if spec.get("multicurrency"):
            fields["CurrencyIsoCode"] = FieldDef(
                "CurrencyIsoCode",
                "picklist",
                3,
                picklist=("AUD", "NZD", "GBP", "USD", "EUR", "JPY"),
                restricted=True,
            )
        for fname, f in (spec.get("fields") or {}).items():
            if f["type"] not in FIELD_TYPES:
                raise ValueError(f"{name}.{fname}: unknown field type {f['type']!r}")
            fields[fname] = FieldDef(
                fname,
                f["type"],
                f.get("length"),
                f.get("precision"),
                f.get("scale"),
                bool(f.get("required")),
                bool(f.get("external_id")),
                bool(f.get("unique")),
                tuple(f.get("picklist") or ()),
                bool(f.get("restricted")),
                tuple(f.get("reference_to") or ()),
                f.get("relationship"),
                bool(f.get("readonly")),
                auto_number=f.get("auto_number"),
                auto_number_start=int(f.get("auto_number_start", 1)),
            )
            if fields[fname].auto_number is not None:
                fields[fname]._auto_parts()  # a bad display format fails at load, not at the first insert
        children = {
            rel: ChildRelationship(rel, c["object"], c["field"])
            for rel, c in (spec.get("children") or {}).items()
        }
        objects[name] = ObjectDef(name, str(spec["key_prefix"]), bool(spec.get("custom")), fields, children)
    schema = Schema(objects)
    for obj in objects.values():
        for f in obj.fields.values():
            for target in f.reference_to:
                if target not in objects:
                    raise ValueError(f"{obj.name}.{f.name} references unknown object {target!r}")
        for c in obj.children.values():
            child = schema.get(c.child_object)
            if child is None or child.field(c.field) is None:
                raise ValueError(f"{obj.name}.{c.name}: no field {c.child_object}.{c.field}")
    return schema


@cache
def load_schema(path: str | None = None) -> Schema:
    return parse_schema(yaml.safe_load(Path(path or SCHEMA_FILE).read_text(encoding="utf-8")))
