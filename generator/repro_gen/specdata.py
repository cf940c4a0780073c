"""The validated spec as plain data, and the facts derived from it.

`SpecFacts` holds the derived properties once, for both shapes of a validated spec: the pydantic
model (`spec.Spec`) and `SpecRecord`, the normalized spec read back from the cache, which lets a
repeated `render` or `validate` skip importing pydantic at all. Templates and the render context
read attributes only, so both render the same bytes (a test renders every example both ways).
"""

from __future__ import annotations

import copy
from typing import Any

from . import catalog


class SpecFacts:
    """Derived facts the blueprints use; valid once validation has resolved the defaults.

    Mixed into classes that have `chameleon` and `accelerator` (no annotations here: pydantic
    would take them for fields).
    """

    @property
    def site(self) -> catalog.Site:
        return catalog.SITES[self.chameleon.site]

    @property
    def hardware(self) -> catalog.Hardware:
        hw = catalog.hardware_for(self.chameleon.site, self.hardware_name)
        assert hw is not None
        return hw

    @property
    def hardware_name(self) -> str:
        return self.chameleon.node_type or self.chameleon.flavor or ""

    @property
    def gpu(self) -> bool:
        return self.accelerator in ("nvidia", "amd")


class _Section:
    """Read-only attribute access over one section of the normalized spec."""

    def __init__(self, data: dict[str, Any]) -> None:
        for name, value in data.items():
            object.__setattr__(self, name, _Section(value) if isinstance(value, dict) else value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")


class SpecRecord(_Section, SpecFacts):
    """A spec that validated earlier, rebuilt from its normalized data without validating again."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        object.__setattr__(self, "_data", copy.deepcopy(data))

    def normalized(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)
