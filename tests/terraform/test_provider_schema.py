"""Every rendered resource and data block fits the pinned provider's schema.

terraform-provider-openstack cannot be downloaded here, so `terraform validate` cannot run; the
rendered HCL is parsed (python-hcl2) and compared with tests/terraform/provider_schema.py, built
from provider_schema_data.py, which tools/provider_schema_from_go.py extracts from the provider's
Go source at the pinned tag.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests import matrix
from tests.conftest import ROOT

from . import provider_schema as schema
from .tf import _HCL_OPTIONS, TF_DIR, blocks, parse, parse_dir


def _is_set(root: dict[str, Any], path: str) -> bool:
    """Whether the absolute attribute path ("name", "block.0.name") the Go schema uses is set."""
    node: Any = root
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return node is not None


def check_block(where: str, body: dict[str, Any], spec: schema.Block,
                top_level: bool = True, root: dict[str, Any] | None = None) -> list[str]:
    """What the provider's schema validation (and RUNTIME_ONE_OF) would reject in body; root is
    the resource body, which the Go schema's attribute paths start from."""
    root = body if root is None else root
    problems = []
    keys = {k for k in body if k != "__comments__" and not (top_level and k in schema.META_ARGUMENTS)}
    for key in sorted(keys):
        if key in spec.blocks:
            value = body[key]
            if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
                problems.append(f"{where}: {key} must be a nested block, not an argument")
                continue
            if key in spec.max_items and len(value) > spec.max_items[key]:
                problems.append(f"{where}: at most {spec.max_items[key]} {key} block(s) allowed")
            if key in spec.min_items and len(value) < spec.min_items[key]:
                problems.append(f"{where}: at least {spec.min_items[key]} {key} block(s) needed")
            for i, nested in enumerate(value):
                problems += check_block(f"{where}.{key}[{i}]", nested, spec.blocks[key], False, root)
        elif key in spec.computed:
            problems.append(f"{where}: {key!r} is computed by the provider and cannot be set")
        elif key not in spec.arguments:
            problems.append(f"{where}: unknown argument or block {key!r}")
        if key in spec.deprecated:
            problems.append(f"{where}: {key!r} is deprecated: {spec.deprecated[key]}")
        for other in spec.conflicts_with.get(key, ()):
            if _is_set(root, other):
                problems.append(f"{where}: {key!r} conflicts with {other!r}")
        for other in spec.required_with.get(key, ()):
            if not _is_set(root, other):
                problems.append(f"{where}: {key!r} requires {other!r} to be set too")
    for name in sorted(spec.required - keys):
        problems.append(f"{where}: required argument {name!r} missing")
    for group in sorted(set(spec.exactly_one_of.values())):
        present = [p for p in group if _is_set(root, p)]
        if len(present) != 1:
            problems.append(f"{where}: exactly one of {list(group)} must be set (found {present})")
    for group in sorted(set(spec.at_least_one_of.values())):
        if not any(_is_set(root, p) for p in group):
            problems.append(f"{where}: at least one of {list(group)} must be set")
    for group in spec.one_of:
        present = sorted(group & keys)
        if len(present) != 1:
            problems.append(f"{where}: set exactly one of {sorted(group)} (found {present})")
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


def test_provider_is_pinned_to_the_series_the_schemas_came_from(matrix_trees):
    for group in matrix.groups(matrix_trees, ("terraform/versions.tf",)):
        versions = parse(group.root / TF_DIR / "versions.tf")
        providers = versions["terraform"][0]["required_providers"][0]
        assert providers["openstack"] == {"source": schema.PROVIDER_SOURCE,
                                          "version": schema.PROVIDER_CONSTRAINT}, group.ids
        provider = versions["provider"][0]["openstack"]
        # Credentials only ever come from clouds.yaml through the cloud entry.
        assert {k for k in provider if k != "__comments__"} == {"cloud"}, group.ids
        assert provider["cloud"] == "${var.cloud}", group.ids


def test_constraint_is_the_tag_minor_series():
    # `~> X.Y.Z` admits X.Y.Z and later patch releases of X.Y only: the series extracted.
    m = re.fullmatch(r"~> (\d+)\.(\d+)\.(\d+)", schema.PROVIDER_CONSTRAINT)
    assert m, schema.PROVIDER_CONSTRAINT
    assert "v" + ".".join(m.groups()) == schema.TAG
    # The blueprint writes the pin from pins.py, the one table of versions.
    from repro_gen import pins

    assert pins.OPENSTACK_PROVIDER == (schema.PROVIDER_SOURCE, schema.PROVIDER_CONSTRAINT)


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
    # Computed-only data source attributes are results, not filters.
    ('data "openstack_networking_network_v2" "n" {\n  name = "x"\n  dns_domain = "d."\n}\n',
     "'dns_domain' is computed by the provider and cannot be set"),
    ('data "openstack_networking_network_v2" "n" {\n  availability_zone_hints = ["nova"]\n}\n',
     "'availability_zone_hints' is computed by the provider and cannot be set"),
    ('resource "openstack_networking_port_v2" "p" {\n  network_id = "n"\n'
     '  all_fixed_ips = ["10.0.0.1"]\n}\n',
     "'all_fixed_ips' is computed by the provider and cannot be set"),
    # RequiredWith: a port range needs both ends and a protocol.
    ('resource "openstack_networking_secgroup_rule_v2" "r" {\n  direction = "ingress"\n'
     '  ethertype = "IPv4"\n  security_group_id = "s"\n  protocol = "tcp"\n'
     '  port_range_min = 22\n}\n',
     "'port_range_min' requires 'port_range_max' to be set too"),
    ('resource "openstack_networking_secgroup_rule_v2" "r" {\n  direction = "ingress"\n'
     '  ethertype = "IPv4"\n  security_group_id = "s"\n  port_range_min = 22\n'
     '  port_range_max = 22\n}\n',
     "'port_range_max' requires 'protocol' to be set too"),
    # ConflictsWith, from the Go schema.
    ('resource "openstack_networking_secgroup_rule_v2" "r" {\n  direction = "ingress"\n'
     '  ethertype = "IPv4"\n  security_group_id = "s"\n  remote_ip_prefix = "10.0.0.0/8"\n'
     '  remote_group_id = "g"\n}\n',
     "'remote_group_id' conflicts with 'remote_ip_prefix'"),
    ('resource "openstack_networking_port_v2" "p" {\n  network_id = "n"\n  no_fixed_ip = true\n'
     '  fixed_ip {\n    ip_address = "10.0.0.5"\n  }\n}\n',
     "'fixed_ip' conflicts with 'no_fixed_ip'"),
    ('resource "openstack_networking_port_v2" "p" {\n  network_id = "n"\n'
     '  binding {\n    vnic_type = "normal"\n  }\n  binding {\n    vnic_type = "direct"\n  }\n}\n',
     "at most 1 binding block(s) allowed"),
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


@pytest.mark.parametrize("snippet", [
    # fixed_ip.subnet_id is Optional in the Go schema (Neutron picks a subnet of the network).
    'resource "openstack_networking_port_v2" "p" {\n  network_id = "n"\n'
    '  fixed_ip {\n    ip_address = "10.0.0.5"\n  }\n}\n',
    'resource "openstack_networking_secgroup_rule_v2" "r" {\n  direction = "ingress"\n'
    '  ethertype = "IPv4"\n  security_group_id = "s"\n  protocol = "tcp"\n'
    '  port_range_min = 22\n  port_range_max = 22\n  remote_ip_prefix = "10.0.0.0/8"\n}\n',
    'data "openstack_networking_network_v2" "n" {\n  name = "sharednet1"\n  external = false\n}\n',
])
def test_schema_check_accepts_what_the_provider_accepts(tmp_path, snippet):
    (tmp_path / "main.tf").write_text(snippet)
    assert check_tree(tmp_path) == []


def _block_with(**kw: Any) -> schema.Block:
    return schema.Block(optional=frozenset({"a", "b", "c"}), **kw)


@pytest.mark.parametrize(("spec", "body", "expected"), [
    (_block_with(exactly_one_of={"a": ("a", "b"), "b": ("a", "b")}), {"c": 1},
     ["w: exactly one of ['a', 'b'] must be set (found [])"]),
    (_block_with(exactly_one_of={"a": ("a", "b"), "b": ("a", "b")}), {"a": 1, "b": 2},
     ["w: exactly one of ['a', 'b'] must be set (found ['a', 'b'])"]),
    (_block_with(exactly_one_of={"a": ("a", "b"), "b": ("a", "b")}), {"b": 2}, []),
    (_block_with(at_least_one_of={"a": ("a", "b")}), {"c": 1},
     ["w: at least one of ['a', 'b'] must be set"]),
    (_block_with(at_least_one_of={"a": ("a", "b")}), {"a": 1, "b": 2}, []),
    (_block_with(deprecated={"c": "use a"}), {"c": 1}, ["w: 'c' is deprecated: use a"]),
])
def test_check_block_applies_the_go_schema_relations(spec, body, expected):
    # No resource the blueprints use has ExactlyOneOf/AtLeastOneOf/Deprecated at the pinned tag,
    # so these are checked on hand-made blocks.
    assert check_block("w", body, spec) == expected


def test_nested_attribute_paths_resolve_from_the_resource():
    spec = schema.Block(optional=frozenset({"x"}), blocks={
        "net": schema.Block(optional=frozenset({"uuid", "port"}),
                            conflicts_with={"port": ("net.0.uuid",)})})
    problems = check_block("r", {"net": [{"uuid": "u", "port": "p"}]}, spec)
    assert problems == ["r.net[0]: 'port' conflicts with 'net.0.uuid'"]


def test_computed_only_attributes_are_not_arguments():
    for table in (schema.RESOURCES, schema.DATA_SOURCES):
        for type_, spec in table.items():
            assert not spec.computed & spec.arguments, type_
    network = schema.DATA_SOURCES["openstack_networking_network_v2"]
    assert {"dns_domain", "availability_zone_hints", "subnets", "shared"} <= network.computed
    port = schema.RESOURCES["openstack_networking_port_v2"]
    assert port.blocks["fixed_ip"].required == frozenset()
    assert port.blocks["fixed_ip"].optional == {"subnet_id", "ip_address"}
    rule = schema.RESOURCES["openstack_networking_secgroup_rule_v2"]
    assert rule.required_with["port_range_min"] == ("port_range_max", "protocol")
    assert rule.required_with["port_range_max"] == ("port_range_min", "protocol")


def test_runtime_rules_name_schema_attributes():
    for type_, paths in schema.RUNTIME_ONE_OF.items():
        for path, groups in paths.items():
            spec = schema.RESOURCES[type_]
            for part in filter(None, path.split(".")):
                spec = spec.blocks[part]
            for group in groups:
                assert set(group.split()) <= spec.optional, (type_, path, group)


def test_every_blueprint_type_is_in_the_generated_data():
    found = {"resource": set(), "data": set()}
    for path in sorted((ROOT / "blueprints" / "terraform").glob("*.tf.j2")):
        for kind, type_ in re.findall(r'^(resource|data)\s+"([a-z0-9_]+)"', path.read_text(), re.M):
            found[kind].add(type_)
    assert found["resource"] <= set(schema.RESOURCES)
    assert found["data"] <= set(schema.DATA_SOURCES)
    assert not found["resource"] & schema.REMOVED_IN_3


def test_generated_data_header_names_its_source():
    from . import provider_schema_data as data
    head = Path(data.__file__).read_text().split('"""', 2)[1]
    assert f"Tag: {data.TAG}" in head and f"Commit: {data.COMMIT}" in head
    assert re.fullmatch(r"[0-9a-f]{40}", data.COMMIT)
    assert "tools/provider_schema_from_go.py" in head and data.REPOSITORY in head


MIRROR = os.environ.get(
    "PROVIDER_OPENSTACK_REPO",
    "/work/.mirror/terraform-provider-openstack+terraform-provider-openstack/repo")


def _tool():
    spec = importlib.util.spec_from_file_location("provider_schema_from_go",
                                                  ROOT / "tools" / "provider_schema_from_go.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mirror_has_tag(tag: str) -> bool:
    if not Path(MIRROR).is_dir():
        return False
    proc = subprocess.run(["git", "-C", MIRROR, "rev-parse", "--verify", "-q", f"{tag}^{{commit}}"],
                          capture_output=True, text=True)
    return proc.returncode == 0


def test_generated_data_is_what_the_tool_extracts_from_the_tag():
    from . import provider_schema_data as data
    if not _mirror_has_tag(data.TAG):
        pytest.skip(f"no terraform-provider-openstack clone with tag {data.TAG} at {MIRROR} "
                    "(set PROVIDER_OPENSTACK_REPO to one); the committed data is checked as is")
    expected = _tool().generate(MIRROR, data.TAG, [], [])
    assert Path(data.__file__).read_text() == expected, (
        "tests/terraform/provider_schema_data.py is stale: rerun tools/provider_schema_from_go.py")


def test_go_literal_parser():
    tool = _tool()
    src = tool.strip_comments("""map[string]*schema.Schema{
        // "ghost": {Type: schema.TypeString, Optional: true},
        "a": {
            Type:          schema.TypeList,
            Optional:      true,
            MaxItems:      1,
            ConflictsWith: []string{"b"}, /* a } in a comment */
            Deprecated:    "use " + "b: '}'",
            Elem: &schema.Resource{
                Schema: map[string]*schema.Schema{
                    "x": {Type: schema.TypeString, Required: true, StateFunc: func(v any) string {
                        return strings.Trim(v.(string), `{"`)
                    }},
                    "y": {Type: schema.TypeMap, Computed: true},
                },
            },
        },
        "b": {Type: schema.TypeSet, Optional: true, Computed: true,
              Elem: &schema.Schema{Type: schema.TypeString}},
    }""")
    assert tool.parse_schema_map(src, "t") == {
        "a": {"mode": "optional", "type": "TypeList", "conflicts_with": ["b"], "max_items": 1,
              "deprecated": "use b: '}'",
              "block": {"x": {"mode": "required", "type": "TypeString"},
                        "y": {"mode": "computed", "type": "TypeMap"}}},
        "b": {"mode": "optional", "type": "TypeSet", "computed": True, "elem": "TypeString"},
    }
    with pytest.raises(tool.GoParseError, match="not a string literal"):
        tool.parse_schema_map('map[string]*schema.Schema{"a": {Type: schema.TypeList, '
                              'Optional: true, ConflictsWith: []string{otherKey}}}', "t")
