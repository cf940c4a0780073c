"""What the generated repository says about network exposure matches Chameleon's images:
bare-metal sites enforce no security groups, but the CC images run firewalld admitting SSH only
(github ChameleonCloud/CC-Images elements/cc-firewall, and elements/cc-common's
cc-disable-firewalld-sg, which turns it off on KVM@TACC, where security groups filter)."""

from __future__ import annotations

import re

from tests import matrix

# Claims an earlier version made, which the images' firewalld contradicts.
WRONG = re.compile(r"every port[^.]*(open to|reachable from) the internet"
                   r"|no firewall in front of them", re.I | re.S)


def test_no_generated_file_claims_bare_metal_ports_are_open(matrix_trees):
    found = []
    for group in matrix.groups(matrix_trees, ["README.md", "terraform/*.tf", "compose/*.yml"]):
        for path in sorted(group.root.glob("**/*")):
            if (path.is_file() and path.suffix in (".md", ".tf", ".yml")
                    and WRONG.search(path.read_text(encoding="utf-8"))):
                found.append(f"{group.ids}: {path.relative_to(group.root)}")
    assert not found, found


def test_bare_metal_texts_name_the_images_firewall(matrix_trees):
    for group in matrix.groups(matrix_trees, ["README.md", "terraform/main.tf"]):
        sites = {c.site for c in group.combos}
        baremetal = sites <= {"CHI@UC", "CHI@TACC"}
        for rel in ("README.md", "terraform/main.tf"):
            text = (group.root / rel).read_text(encoding="utf-8")
            assert ("firewalld" in text) is baremetal, (group.ids, rel)
