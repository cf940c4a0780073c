"""Every rendered resource and data block fits the pinned provider's documented schema.

terraform-provider-openstack cannot be downloaded here, so `terraform validate` cannot run; the
rendered HCL is parsed (python-hcl2) and compared with tests/terraform/provider_schema.py, a table
written from the provider's documentation for the pinned major version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests import matrix

from . import provider_schema as schema
from .tf import _HCL_OPTIONS, TF_DIR, blocks, parse, parse_dir


def check_block(where: str, body: dict[str, Any], spec: schema.Block,
                top_level: bool = True) -> list[str]:
    problems = []
    keys = {k for k in body if k != "__comments__" and not (top_level and k in schema.META_ARGUMENTS)}
    for key in sorted(keys):
        if key in spec.blocks:
            value = body[key]
            if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
                problems.append(f"{where}: {key} must be a nested block, not an argument")
                continue
            for i, nested in enumerate(value):
                problems += check_block(f"{where}.{key}[{i}]", nested, spec.blocks[key], False)
        elif key not in spec.arguments:
            problems.append(f"{where}: unknown argument or block {key!r}")
    for name in sorted(spec.required - keys):
        problems.append(f"{where}: required argument {name!r} missing")
    for group in spec.one_of:
        present = sorted(group & keys)
        if len(present) != 1:
            problems.append(f"{where}: set exactly one of {sorted(group)} (found {present})")
    for pair in spec.conflicts:
        if pair <= keys:
            problems.append(f"{where}: {sorted(pair)} conflict")
    return problems


def check_tree(tf_dir: Path) -> list[str]:
    parsed = parse_dir(tf_dir)
    problems = []
    for type_, name, body in blocks(parsed, "resource"):
        if type_ in schema.REMOVED_IN_3:
            problems.append(f"{type_}.{name}: removed in provider 3.x")
        elif type_ not in schema.RESOURCES:
            problems.append(f"{type_}.{name}: resource type not in the schema table")
        else:
            problems += check_block(f"{type_}.{name}", body, schema.RESOURCES[type_])
    for type_, name, body in blocks(parsed, "data"):
        if type_ not in schema.DATA_SOURCES:
            problems.append(f"data.{type_}.{name}: data source not in the schema table")
        else:
            problems += check_block(f"data.{type_}.{name}", body, schema.DATA_SOURCES[type_])
    return problems


def test_every_resource_matches_the_provider_schema_over_the_matrix(matrix_trees):
    failures = []
    for group in matrix.groups(matrix_trees, ("terraform/*.tf",)):
        problems = check_tree(group.root / TF_DIR)
        if problems:
            failures.append(f"[{group.ids}]\n  " + "\n  ".join(problems))
    assert not failures, "\n".join(failures)


def test_provider_is_pinned_to_the_documented_major_version(matrix_trees):
    for group in matrix.groups(matrix_trees, ("terraform/versions.tf",)):
        versions = parse(group.root / TF_DIR / "versions.tf")
        providers = versions["terraform"][0]["required_providers"][0]
        assert providers["openstack"] == {"source": schema.PROVIDER_SOURCE,
                                          "version": schema.PROVIDER_CONSTRAINT}, group.ids
        provider = versions["provider"][0]["openstack"]
        # Credentials only ever come from clouds.yaml through the cloud entry.
        assert {k for k in provider if k != "__comments__"} == {"cloud"}, group.ids
        assert provider["cloud"] == "${var.cloud}", group.ids


@pytest.mark.parametrize(("snippet", "expected"), [
    ('resource "openstack_networking_port_v2" "p" {\n  name = "x"\n}\n',
     "required argument 'network_id' missing"),
    ('resource "openstack_networking_port_v2" "p" {\n  network_id = "n"\n  colour = "red"\n}\n',
     "unknown argument or block 'colour'"),
    ('resource "openstack_compute_instance_v2" "i" {\n  name = "i"\n  image_name = "x"\n'
     '  flavor_id = "f"\n  flavor_name = "baremetal"\n}\n',
     "set exactly one of ['flavor_id', 'flavor_name']"),
    ('resource "openstack_compute_instance_v2" "i" {\n  name = "i"\n  image_name = "x"\n'
     '  flavor_name = "baremetal"\n  network {\n    port = "p"\n    uuid = "u"\n  }\n}\n',
     "network[0]: set exactly one of ['name', 'port', 'uuid']"),
    ('resource "openstack_compute_instance_v2" "i" {\n  name = "i"\n  image_name = "x"\n'
     '  flavor_name = "baremetal"\n  scheduler_hints {\n    reservation = "r"\n  }\n}\n',
     "unknown argument or block 'reservation'"),
    ('resource "openstack_compute_floatingip_associate_v2" "a" {\n  floating_ip = "x"\n}\n',
     "removed in provider 3.x"),
])
def test_schema_check_catches_mistakes(tmp_path, snippet, expected):
    (tmp_path / "main.tf").write_text(snippet)
    problems = check_tree(tmp_path)
    assert any(expected in p for p in problems), problems


def test_schema_table_parses_nested_blocks_as_blocks():
    # hcl2 yields nested blocks as lists of dicts and map arguments as dicts: the check relies on it.
    body = hcl2.loads('resource "t" "n" {\n  m = { a = "b" }\n  blk {\n    x = 1\n  }\n}\n',
                      serialization_options=_HCL_OPTIONS)["resource"][0]["t"]["n"]
    assert body["m"] == {"a": "b"} and body["blk"] == [{"x": 1}]
