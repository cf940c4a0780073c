"""Arguments and nested blocks of the terraform-provider-openstack resources the blueprints use.

The schemas come from the provider's Go source at the tag pinned in versions.tf: they are
extracted by tools/provider_schema_from_go.py into provider_schema_data.py (generated, with the
tag and commit it came from) and shaped here into one Block per resource, data source and nested
block. The provider binary cannot be downloaded here, so `terraform validate` is impossible;
rendered resources are checked against these Blocks instead.

Only RUNTIME_ONE_OF below is written by hand: rules the provider enforces in its create code
rather than in the schema, so the extraction cannot see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import provider_schema_data as data

PROVIDER_SOURCE = "terraform-provider-openstack/openstack"
TAG = data.TAG
# `~> X.Y.Z`: patch releases of the minor series the schemas were extracted from, nothing newer
# (a new minor release may add or deprecate arguments: regenerate provider_schema_data.py first).
PROVIDER_CONSTRAINT = "~> " + TAG.removeprefix("v")

# Arguments every resource and data block accepts (Terraform itself, not the provider).
META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle"})

# Not in the schema (every one of these attributes is Optional there) but checked at apply time:
# resource_openstack_compute_instance_v2.go, getFlavorID ("Neither a flavor_id or flavor_name could
# be determined") and getImageIDFromConfig (an image is needed unless booting from a volume, which
# the blueprints never do); compute_instance_v2.go ("At least one of network.uuid, network.name,
# or network.port must be set"). The provider needs one and silently prefers the first when
# several are given, so the blueprints must set exactly one. {type: {block path: groups}}.
RUNTIME_ONE_OF: dict[str, dict[str, tuple[str, ...]]] = {
    "openstack_compute_instance_v2": {
        "": ("image_id image_name", "flavor_id flavor_name"),
        "network": ("uuid name port",),
    },
}


@dataclass(frozen=True)
class Block:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    # Attributes only the provider sets: a configuration that sets one is invalid.
    computed: frozenset[str] = frozenset()
    blocks: dict[str, Block] = field(default_factory=dict)
    # Per attribute, the absolute paths ("name" or "block.0.name") the Go schema relates it to.
    conflicts_with: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exactly_one_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    at_least_one_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required_with: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deprecated: dict[str, str] = field(default_factory=dict)
    min_items: dict[str, int] = field(default_factory=dict)
    max_items: dict[str, int] = field(default_factory=dict)
    # Groups of which exactly one argument must be set (RUNTIME_ONE_OF), names relative to the block.
    one_of: tuple[frozenset[str], ...] = ()

    @property
    def arguments(self) -> frozenset[str]:
        """What a configuration may set as `name = value` (nested blocks are in .blocks)."""
        return (self.required | self.optional) - self.blocks.keys()


def _is_block(record: dict[str, Any]) -> bool:
    return "block" in record and record.get("config_mode") != "SchemaConfigModeAttr"


def block(attributes: dict[str, dict[str, Any]], one_of: dict[str, tuple[str, ...]] | None = None,
          path: str = "") -> Block:
    """A Block from the generated records of one schema map; path: this block's path ("" at the
    top, "network" for a nested block), used to find its RUNTIME_ONE_OF groups."""
    one_of = one_of or {}
    settable = {k: r for k, r in attributes.items() if r["mode"] != "computed"}

    def related(key: str) -> dict[str, tuple[str, ...]]:
        return {k: tuple(r[key]) for k, r in sorted(settable.items()) if r.get(key)}

    return Block(
        required=frozenset(k for k, r in settable.items() if r["mode"] == "required"),
        optional=frozenset(k for k, r in settable.items() if r["mode"] == "optional"),
        computed=frozenset(k for k, r in attributes.items() if r["mode"] == "computed"),
        blocks={k: block(r["block"], one_of, f"{path}.{k}".lstrip("."))
                for k, r in sorted(settable.items()) if _is_block(r)},
        conflicts_with=related("conflicts_with"),
        exactly_one_of=related("exactly_one_of"),
        at_least_one_of=related("at_least_one_of"),
        required_with=related("required_with"),
        deprecated={k: r["deprecated"] for k, r in sorted(settable.items()) if "deprecated" in r},
        min_items={k: r["min_items"] for k, r in sorted(settable.items()) if "min_items" in r},
        max_items={k: r["max_items"] for k, r in sorted(settable.items()) if "max_items" in r},
        one_of=tuple(frozenset(g.split()) for g in one_of.get(path, ())),
    )


RESOURCES: dict[str, Block] = {
    type_: block(entry["attributes"], RUNTIME_ONE_OF.get(type_))
    for type_, entry in data.RESOURCES.items()
}
DATA_SOURCES: dict[str, Block] = {
    type_: block(entry["attributes"]) for type_, entry in data.DATA_SOURCES.items()
}

# Resources the pinned provider no longer has (older Chameleon examples still use them).
REMOVED_IN_3 = frozenset(data.REMOVED)
