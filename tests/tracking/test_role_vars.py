"""The artifact store and backups are decided once, at render time.

compose/tracking.yml is rendered for one artifact store and with or without the backup service;
the mlflow_stack role must follow that file, so the two choices are role vars (which inventory
and group_vars cannot override), never defaults.
"""

from __future__ import annotations

import yaml

from tests import matrix
from tests.ansible.test_role_docs import _Loader

ROLE = "ansible/roles/mlflow_stack"


def test_role_vars_match_the_rendered_compose_file(matrix_trees):
    for group in matrix.groups(matrix_trees, (f"{ROLE}/vars/main.yml", f"{ROLE}/defaults/main.yml",
                                              "compose/tracking.yml")):
        root, combo = group.root, group.combos[0]
        fixed = yaml.load((root / ROLE / "vars/main.yml").read_text(), Loader=_Loader)
        defaults = yaml.load((root / ROLE / "defaults/main.yml").read_text(), Loader=_Loader)
        services = yaml.safe_load((root / "compose/tracking.yml").read_text())["services"]
        assert fixed["mlflow_stack_artifact_store"] == combo.artifact_store, group.ids
        assert ("minio" in services) == (combo.artifact_store == "minio"), group.ids
        assert fixed["mlflow_stack_backups"] == ("backup" in services), group.ids
        # Decided once: not also a default that an inventory could set against the compose file.
        assert not {"mlflow_stack_artifact_store", "mlflow_stack_backups"} & set(defaults), group.ids
