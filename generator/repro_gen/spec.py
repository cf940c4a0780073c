"""The spec: pydantic models, defaults and the cross-field rules that come from the catalog.

Validation runs in two passes. Pydantic checks types, patterns and unknown keys; then `RULES`
check what depends on several fields (site × hardware × accelerator × image) and fill the defaults
that depend on other answers. Every problem names its field and how to fix it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from . import catalog, pins
from .errors import Problem, SpecError
from .specdata import SpecFacts

SLUG = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
PINNED_REQUIREMENT = r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9][A-Za-z0-9.+!_-]*$"
# A CIDR as the generated variables.tf accepts it: digits and hex, an explicit decimal prefix.
CIDR_TEXT = r"^[0-9A-Fa-f:.]+/(0|[1-9][0-9]{0,2})$"
# Modules the generator writes next to the entry point: a script of that name would replace one.
SUPPORT_MODULES = ("provenance.py", "runtime.py", "__init__.py")
SPEC_VERSION = 1
# What the generated requirement files pin: every pin, under each name a framework installs it by
# (tensorflow-cpu is TensorFlow's pin too).
_GENERATED_PINS = {canonicalize_name(name): f"{name}=={pin.version}"
                   for name, pin in pins.PINS.items()}
_GENERATED_PINS.update({canonicalize_name(req.split("[")[0]): f"{req.split('[')[0]}=={pins.version(pin)}"
                        for fw in catalog.FRAMEWORK_TABLE.values()
                        for reqs in fw.packages.values() for req, pin in reqs})
REPO_URL = r"^(https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._~/-]+|git@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+)$"
ENTRY_POINT = r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*\.py$"
EXPERIMENT = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$"
# Not printable on one line: controls, format characters (bidi overrides, zero-width), line and
# paragraph separators, private use, surrogates, unassigned.
NOT_PRINTABLE = ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn")
LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _unprintable(text: str) -> str | None:
    """The first character of `text` that is not printable on one line, as U+XXXX (NAME)."""
    for i, ch in enumerate(text):
        if ch in LINE_BREAKS or unicodedata.category(ch) in NOT_PRINTABLE:
            name = unicodedata.name(ch, "") or {"\n": "LINE FEED", "\r": "CARRIAGE RETURN",
                                                "\t": "TAB"}.get(ch, "a control character")
            return f"U+{ord(ch):04X} ({name}) at position {i + 1}"
    return None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Project(_Section):
    name: Annotated[str, Field(pattern=SLUG, description=(
        "Project slug; names the repo, the lease, the nodes, the compose project and buckets."))]
    description: Annotated[str, Field(max_length=200, description=(
        "One line of printable text shown in the generated README."))] = ""
    repo_url: Annotated[str | None, Field(pattern=REPO_URL, description=(
        "Git remote of the study (https or git@, no credentials); the generated README says how"
        " to push to it. Runs record the commit and remote of the checkout they ran from."))] = None

    @field_validator("description")
    @classmethod
    def _one_printable_line(cls, value: str) -> str:
        bad = _unprintable(value)
        if bad:
            raise ValueError(f"contains {bad}, which is not printable text on one line")
        return value


def _default_hardware_text() -> str:
    """The node-type defaults, as the spec reference states them (from the catalog)."""
    parts = []
    for accel in ("nvidia", "amd", "none"):
        at = [f"{catalog.default_hardware(site, accel)} at {site}" for site, s in catalog.SITES.items()
              if s.is_baremetal and catalog.default_hardware(site, accel)]
        parts.append(f"{accel}: {', '.join(at)}")
    return "; ".join(parts)


class Chameleon(_Section):
    site: Annotated[Literal[tuple(catalog.SITES)],  # type: ignore[valid-type]
                    Field(description="Chameleon site.")] = "CHI@UC"
    cloud: Annotated[str | None, Field(pattern=IDENT, description=(
        "clouds.yaml entry holding this site's application credential."
        " Default: chi_uc, chi_tacc or kvm_tacc."))] = None
    node_type: Annotated[str | None, Field(pattern=IDENT, description=(
        "Bare-metal node type (CHI@UC, CHI@TACC); each site has its own (Chameleon's hardware"
        " data). Default: the site's largest fleet carrying the accelerator ("
        + _default_hardware_text() + ")."))] = None
    flavor: Annotated[str | None, Field(pattern=IDENT, description=(
        "KVM flavor (KVM@TACC only), e.g. g1.h100.pci.1 or m1.xlarge."))] = None
    node_count: Annotated[int, Field(ge=1, le=8, strict=True,
                                     description="Nodes in the lease; node 1 hosts tracking.")] = 1
    image: Annotated[str | None, Field(pattern=IDENT, description=(
        "OS image. Default: the -CUDA image for NVIDIA, the ROCm image for AMD, plain Ubuntu"
        " otherwise."))] = None
    lease_hours: Annotated[int, Field(ge=1, le=catalog.MAX_LEASE_HOURS, strict=True,
                                      description="Lease length in hours (at most 7 days).")] = 24
    key_pair: Annotated[str | None, Field(pattern=IDENT, description=(
        "OpenStack key pair name at the site. Default: the project name."))] = None
    ssh_cidrs: Annotated[list[str], Field(max_length=16, description=(
        "CIDRs allowed to SSH in (KVM@TACC security group). Not allowed on bare metal,"
        " where security groups are not enforced (the images' firewalld admits SSH only)."))] = []

    @field_validator("ssh_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        out = []
        for cidr in value:
            if "%" in cidr:
                raise ValueError(f"{cidr!r} has an IPv6 zone id (%...), which Terraform's"
                                 " cidrhost() refuses") from None
            if not re.match(CIDR_TEXT, cidr):
                raise ValueError(f"{cidr!r} is not a CIDR block like 203.0.113.7/32: write the"
                                 " address, '/', then the prefix length in digits") from None
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                try:
                    meant = ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise ValueError(f"{cidr!r} is not a CIDR block like 203.0.113.7/32 ({exc})") from None
                raise ValueError(f"{cidr!r} has host bits set: write the network, {meant}") from None
            if net.prefixlen == 0:
                raise ValueError(f"{cidr!r} opens SSH to the whole internet; list your own networks")
            if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped:
                raise ValueError(f"{cidr!r} is an IPv4-mapped IPv6 address, which Terraform reads"
                                 f" as IPv4: write {net.network_address.ipv4_mapped}/"
                                 f"{max(net.prefixlen - 96, 1)}")
            out.append(str(net))
        return out


def _pinned_requirement(text: str) -> str:
    """A requirement as pip reads it (the `packaging` library's grammar), pinned with one `==`
    to a valid version, and not one of the packages the generated requirement files pin."""
    try:
        req = Requirement(text)
        (spec,) = req.specifier
        Version(spec.version)
    except InvalidRequirement as exc:
        raise ValueError(f"{text!r} is not a valid requirement ({str(exc).splitlines()[0]})"
                         ) from None
    except InvalidVersion:
        raise ValueError(f"{text!r} does not pin a valid version (like 2.2.3)") from None
    pinned = _GENERATED_PINS.get(canonicalize_name(req.name))
    if pinned:
        raise ValueError(f"{text!r} clashes with the generated requirements, which pin {pinned}")
    return text


class Training(_Section):
    framework: Annotated[Literal[catalog.FRAMEWORKS],  # type: ignore[valid-type]
                         Field(description="ML framework of the generated training code.")] = "pytorch"
    # The Pythons every pinned training package has wheels for (pins.supported_pythons()).
    python: Annotated[Literal["3.11", "3.12"],
                      Field(description="Python version of the training image.")] = "3.11"
    entry_point: Annotated[str, Field(pattern=ENTRY_POINT, description=(
        "Script under training/ that `make train` runs."))] = "train.py"
    extra_dependencies: Annotated[list[Annotated[str, Field(pattern=PINNED_REQUIREMENT),
                                                 AfterValidator(_pinned_requirement)]],
                                  Field(max_length=64, description=(
                                      "Extra pip requirements, each pinned with == (not one of"
                                      " the packages repro-gen pins itself)."))] = []
    seed: Annotated[int, Field(ge=0, le=2**32 - 1, strict=True,
                               description="Random seed (0 is a valid seed).")] = 42

    @field_validator("entry_point")
    @classmethod
    def _not_a_support_module(cls, value: str) -> str:
        if value in SUPPORT_MODULES or value.rsplit("/", 1)[-1] == "__init__.py":
            raise ValueError(f"{value!r} is a module repro-gen generates next to the entry point"
                             f" ({', '.join(SUPPORT_MODULES)})")
        return value

    @field_validator("extra_dependencies")
    @classmethod
    def _one_pin_per_package(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for text in value:
            name = canonicalize_name(Requirement(text).name)
            if name in seen:
                raise ValueError(f"{text!r} and {seen[name]!r} pin the same package")
            seen[name] = text
        return value

    @field_validator("python", mode="before")
    @classmethod
    def _python_has_wheels(cls, value: Any) -> Any:
        missing = pins.without_wheels(value) if value in pins.CHECKED_PYTHONS else []
        if missing:
            raise ValueError(f"Python {value} is not supported: {', '.join(missing)} publish no"
                             f" wheels for it")
        return value


class Tracking(_Section):
    experiment: Annotated[str | None, Field(pattern=EXPERIMENT, description=(
        "MLflow experiment name. Default: the project name."))] = None
    artifact_store: Annotated[Literal[catalog.ARTIFACT_STORES], Field(  # type: ignore[valid-type]
        description=("minio: MinIO on the node; chameleon: the site's object store over S3"
                     " (outlives leases)."))] = "minio"
    backups: Annotated[bool, Field(strict=True, description=(
        "Back up PostgreSQL and artifacts to the Chameleon object store."))] = True
    backup_schedule: Annotated[Literal["hourly", "daily"],
                               Field(description="How often the backup timer runs.")] = "daily"
    backup_keep_days: Annotated[int, Field(ge=1, le=3650, strict=True, description=(
        "Days of backup snapshots kept; older ones (and artifact copies only they use) are"
        " deleted after each backup. The newest is always kept."))] = 14


class Integrations(_Section):
    huggingface: Annotated[bool, Field(strict=True, description=(
        "Pass HF_TOKEN from the secrets file to training and cache models on a volume."))] = False
    github: Annotated[bool, Field(strict=True, description=(
        "Generate a GitHub Actions workflow that runs `make check`."))] = False
    molecule: Annotated[bool, Field(strict=True, description=(
        "Ship each Ansible role's molecule scenarios and the GPU tool stand-ins they use. They"
        " test the roles in systemd containers built from repro-gen's own test images, so they"
        " are for checking repro-gen itself, not for a study."))] = False


class Spec(_Section, SpecFacts):
    version: Annotated[Literal[1], Field(description="Spec format version.")] = 1
    # The spec as written, before `_resolve` filled the derived defaults: rules blame only what
    # the user wrote.
    _given: Any = PrivateAttr(default=None)

    @field_validator("version", mode="before")
    @classmethod
    def _known_version(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a version number")
        if value > SPEC_VERSION:
            raise ValueError(f"version {value} is newer than this repro-gen reads ({SPEC_VERSION}):"
                             " the spec may be from a newer repro-gen")
        if value != SPEC_VERSION:
            raise ValueError(f"version {value} is not a spec version (this repro-gen reads"
                             f" {SPEC_VERSION})")
        return value
    project: Project
    chameleon: Chameleon = Chameleon()
    accelerator: Annotated[Literal["nvidia", "amd", "none"] | None, Field(description=(
        "GPU vendor. Default: what the node type or flavor carries."))] = None
    training: Training = Training()
    tracking: Tracking = Tracking()
    integrations: Integrations = Integrations()

    def normalized(self) -> dict[str, Any]:
        """Every default filled in, as plain data (stable key order)."""
        return self.model_dump(mode="json")


# Hints for pydantic's own errors, by field path (placeholders: {n} = list index).
HINTS: dict[str, str] = {
    "version": f"use version: {SPEC_VERSION} (unquoted), or a newer repro-gen for a newer spec",
    "project.name": "use 3-32 lowercase letters, digits and hyphens, starting with a letter and"
                    " ending with a letter or digit",
    "project.description": "use a single line of at most 200 printable characters (no control,"
                           " format or line-separator characters)",
    "project.repo_url": "use https://host/owner/repo.git or git@host:owner/repo.git, without credentials",
    "chameleon.node_count": "use a whole number from 1 to 8",
    "chameleon.lease_hours": f"use a whole number of hours from 1 to {catalog.MAX_LEASE_HOURS}",
    "chameleon.ssh_cidrs": "list networks like 203.0.113.7/32 or 2001:db8::/32 (no zone ids, no"
                           " IPv4-mapped IPv6, host bits zero)",
    "training.extra_dependencies": "pin each one exactly, like pandas==2.2.3, and leave the"
                                   " packages repro-gen pins to it",
    "training.entry_point": "use a relative path to a .py file under training/, like train.py,"
                            " other than " + ", ".join(SUPPORT_MODULES),
    "training.seed": "use a whole number from 0 to 4294967295",
    "training.python": "set training.python to " + " or ".join(pins.supported_pythons()),
    "chameleon.node_type": "a node type the site offers (see the Chameleon hardware table)",
    "chameleon.flavor": "a KVM@TACC flavor: " + ", ".join(catalog.hardware_names("KVM@TACC")),
    "tracking.experiment": "use letters, digits, spaces, '_', '.', '-' (at most 63)",
    "tracking.backup_keep_days": "use a whole number of days from 1 to 3650",
}


# Fallback hints by the kind of pydantic error.
KIND_HINTS: dict[str, str] = {
    "bool_type": "use true or false (unquoted)",
    "int_type": "use a whole number (unquoted)",
    "string_type": "use a quoted string",
    "list_type": "use a list, e.g. [a, b]",
    "model_type": "use a mapping of keys under this section",
    "dict_type": "use a mapping of keys under this section",
    "string_pattern_mismatch": "use only letters, digits, '_', '.' and '-'",
    "too_long": "shorten the list",
}


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Spec
    for part in path:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


def _hint(path: tuple[Any, ...], kind: str, ctx: dict[str, Any]) -> str:
    if kind == "extra_forbidden":
        parent = _model_at(path[:-1])
        if parent is not None:
            close = difflib.get_close_matches(str(path[-1]), list(parent.model_fields), n=1)
            meant = f"did you mean {close[0]}? " if close else ""
            return meant + "remove it; keys allowed here: " + ", ".join(parent.model_fields)
        return "remove it"
    if kind == "missing":
        return "add it"
    if kind == "literal_error":
        return f"use one of: {ctx.get('expected', '')}".replace("'", "")
    generic = ".".join(str(p) for p in path if not isinstance(p, int))
    return HINTS.get(generic) or KIND_HINTS.get(kind, "see `repro-gen schema` for this field")


# The names that land unquoted in generated files: their pattern, said rule by rule.
_NAME_RULES: dict[str, tuple[int, int, str, str, str]] = {
    # field: (shortest, longest, first characters, middle characters, last characters)
    "project.name": (3, 32, "a-z", "a-z0-9-", "a-z0-9"),
    **{f"chameleon.{f}": (1, 64, "A-Za-z0-9", "A-Za-z0-9_.-", "A-Za-z0-9_.-")
       for f in ("cloud", "node_type", "flavor", "image", "key_pair")},
}
_CLASS_WORDS = {"a-z": "a lowercase letter", "A-Za-z0-9": "a letter or digit",
                "a-z0-9": "a lowercase letter or digit", "a-z0-9-": "lowercase letters, digits and '-'",
                "A-Za-z0-9_.-": "letters, digits, '_', '.' and '-'"}


def _name_rule_failed(field: str, value: Any) -> str | None:
    """Which part of a name's pattern `value` breaks, as a hint that states that rule."""
    if field not in _NAME_RULES or not isinstance(value, str):
        return None
    low, high, first, middle, last = _NAME_RULES[field]
    def fits(ch: str, cls: str) -> bool:
        return re.fullmatch(f"[{cls}]", ch) is not None
    if not low <= len(value) <= high:
        return f"use {low} to {high} characters (this has {len(value)})"
    bad = sorted({ch for ch in value if not fits(ch, middle) and not fits(ch, first)})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        return f"use only {_CLASS_WORDS[middle]} (not {shown})"
    if not fits(value[0], first):
        return f"start with {_CLASS_WORDS[first]} (not {value[0]!r})"
    if not fits(value[-1], last):
        return f"end with {_CLASS_WORDS[last]} (not {value[-1]!r})"
    return None


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        path = tuple(err["loc"])
        kind = err["type"]
        message = err["msg"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "is required"
        elif kind == "string_pattern_mismatch":
            message = f"{err['input']!r} is not allowed"
        elif kind == "value_error":
            message = message.removeprefix("Value error, ")
        field = ".".join(map(str, path)) or "(top level)"
        hint = (_name_rule_failed(field, err.get("input")) if kind == "string_pattern_mismatch"
                else None) or _hint(path, kind, err.get("ctx") or {})
        problems.append(Problem(field, message, hint))
    return problems


# ----- cross-field rules ------------------------------------------------------------------------

Rule = Callable[[Spec], Iterator[Problem]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@rule
def _hardware_matches_site(spec: Spec) -> Iterator[Problem]:
    c = spec.chameleon
    site = spec.site
    if site.is_baremetal:
        if c.flavor is not None:
            yield Problem("chameleon.flavor", f"flavors are for KVM@TACC, not {site.name}",
                          "remove flavor and set node_type (bare metal)")
        if c.ssh_cidrs:
            yield Problem("chameleon.ssh_cidrs",
                          f"{site.name} does not enforce security groups, so this would not"
                          " restrict anything",
                          "remove ssh_cidrs; services bind 127.0.0.1 and are reached over SSH")
        name, field, choices = c.node_type, "chameleon.node_type", catalog.hardware_names(site.name)
    else:
        if c.node_type is not None:
            yield Problem("chameleon.node_type", "KVM@TACC runs virtual machines, not node types",
                          "remove node_type and set flavor, e.g. g1.h100.pci.1 or m1.xlarge")
        if c.flavor is None:
            yield Problem("chameleon.flavor", "KVM@TACC needs a flavor",
                          "set flavor to one of: " + ", ".join(catalog.hardware_names(site.name)))
        if not c.ssh_cidrs:
            yield Problem("chameleon.ssh_cidrs",
                          "KVM@TACC enforces security groups, so SSH needs an allowed network",
                          "list your networks, e.g. ssh_cidrs: [203.0.113.7/32]")
        name, field, choices = c.flavor, "chameleon.flavor", catalog.hardware_names(site.name)
    if name is not None and name not in choices:
        yield _unavailable(field, name, site.name, _written(spec).accelerator, choices)


def _written(spec: Spec) -> Spec:
    """The spec as the user wrote it, before the derived defaults were filled in."""
    return spec._given if spec._given is not None else spec


def _unavailable(field: str, name: str, site: str, accelerator: str | None,
                 choices: list[str]) -> Problem:
    """A node type or flavor the site cannot give: say where it exists, or why it is refused,
    and suggest what the site has (for the accelerator asked for, when one was; never a type
    that contradicts it)."""
    hw = catalog.hardware_for(site, name)
    carriers = catalog.hardware_carrying(site, accelerator) if accelerator else []
    if accelerator and not carriers:
        others = [s for s in catalog.SITES if catalog.hardware_carrying(s, accelerator)]
        hint = (f"{site} has no {accelerator} GPU node type ({_sites_with(accelerator)}):"
                f" set chameleon.site to {' or '.join(others)}, or change the accelerator"
                if others else f"no site has {accelerator} hardware: change the accelerator")
    else:
        hint = "use one of: " + ", ".join(carriers or choices)
    if hw is not None and hw.unsupported:
        return Problem(field, f"{name!r} is not supported: {hw.unsupported}", hint)
    if hw is not None:
        return Problem(field, f"{name!r} is not available at {site}; only {', '.join(hw.sites)}"
                              f" {'has' if len(hw.sites) == 1 else 'have'} it", hint)
    elsewhere = [s for s in catalog.SITES if s != site and catalog.hardware_for(s, name)]
    where = f" (it is a {' and '.join(elsewhere)} name)" if elsewhere else ""
    return Problem(field, f"{name!r} is not a node type or flavor of {site}{where}", hint)


@rule
def _accelerator_matches_hardware(spec: Spec) -> Iterator[Problem]:
    hw = catalog.hardware_for(spec.chameleon.site, spec.hardware_name)
    if hw is None or spec.accelerator is None or spec.accelerator in hw.accelerators:
        return
    field = "chameleon.node_type" if spec.site.is_baremetal else "chameleon.flavor"
    carriers = catalog.hardware_carrying(spec.chameleon.site, spec.accelerator)
    if carriers:
        hint = (f"set accelerator: {hw.accelerators[0]}, or change {field} to one with"
                f" {spec.accelerator}: {', '.join(carriers[:4])}")
    else:
        hint = (f"set accelerator: {hw.accelerators[0]}; {spec.chameleon.site} has no"
                f" {spec.accelerator} hardware ({_sites_with(spec.accelerator)})")
    yield Problem("accelerator",
                  f"{spec.accelerator!r} contradicts {field.split('.')[1]} {hw.name!r}, which carries"
                  f" {' or '.join(hw.accelerators)}", hint)


@rule
def _image_exists_and_fits(spec: Spec) -> Iterator[Problem]:
    name = spec.chameleon.image
    if name is None or _written(spec).chameleon.image is None:
        return  # a derived image follows the hardware; problems with that are reported there
    image = catalog.IMAGES.get(name)
    here = catalog.images_at(spec.chameleon.site)
    if image is None or spec.chameleon.site not in image.sites:
        yield Problem("chameleon.image", f"{name!r} is not offered at {spec.chameleon.site}",
                      "use one of: " + ", ".join(here))
        return
    hw = catalog.hardware_for(spec.chameleon.site, spec.hardware_name)
    if hw is not None and hw.required_image and name != hw.required_image:
        yield Problem("chameleon.image", f"{hw.name} needs the {hw.required_image} image",
                      f"set image: {hw.required_image} (or remove image to get it by default)")
        return
    accel = spec.accelerator
    if accel == "amd" and image.ships != "amd":
        yield Problem("chameleon.image", "AMD GPUs need the ROCm image",
                      "set image: CC-Ubuntu24.04-ROCm")
    elif accel in ("none", "nvidia") and image.ships == "amd":
        yield Problem("chameleon.image", "the ROCm image is for AMD GPU nodes",
                      f"use one of: {', '.join(i for i in here if 'ROCm' not in i)}")
    elif accel == "none" and image.ships != "none":
        yield Problem("chameleon.image", f"{name} ships GPU drivers but this node has no GPU",
                      f"use {name.split('-CUDA')[0]} instead")


def _sites_with(accelerator: str) -> str:
    sites = [site for site in catalog.SITES if catalog.hardware_carrying(site, accelerator)]
    return f"{' and '.join(sites)} {'has' if len(sites) == 1 else 'have'} it" if sites else "no site has it"


@rule
def _site_has_accelerator(spec: Spec) -> Iterator[Problem]:
    """An accelerator asked for without hardware, at a site that has none of it: blame the
    accelerator (the only field the user wrote), not a default node type."""
    if not spec.site.is_baremetal or spec.hardware_name or spec.accelerator is None:
        return
    field = "chameleon.node_type"
    others = [s for s in catalog.SITES if catalog.hardware_carrying(s, spec.accelerator)]
    yield Problem("accelerator", f"{spec.chameleon.site} has no {spec.accelerator} GPUs"
                  f" ({_sites_with(spec.accelerator)})",
                  f"set chameleon.site to {' or '.join(others)}, or choose another accelerator"
                  if others else f"choose another accelerator, or set {field}")


@rule
def _torch_build_runs_on_gpu(spec: Spec) -> Iterator[Problem]:
    """The image's PyTorch build must have kernels for the node's NVIDIA GPUs (pins.TORCH_BUILDS):
    a GPU outside its compute-capability range would make torch fall back to the CPU or fail."""
    build = pins.TORCH_BUILDS.get(spec.accelerator or "none")
    hw = catalog.hardware_for(spec.chameleon.site, spec.hardware_name)
    if (build is None or build.compute_capabilities is None or hw is None
            or hw.compute_capability is None
            or not catalog.FRAMEWORK_TABLE[spec.training.framework].torch):
        return
    low, high = build.compute_capabilities
    key = catalog.compute_capability_key
    cc = hw.compute_capability
    if key(low) <= key(cc) and key(cc)[0] <= key(high)[0]:
        return
    field = "chameleon.node_type" if spec.site.is_baremetal else "chameleon.flavor"
    fits = [n for n in catalog.hardware_carrying(spec.chameleon.site, "nvidia")
            if (c := catalog.hardware_for(spec.chameleon.site, n).compute_capability)
            and key(low) <= key(c) and key(c)[0] <= key(high)[0]]
    yield Problem(field, f"{hw.name}'s GPUs (compute capability {cc}) are outside what the image's"
                         f" PyTorch build ({pins.version('torch')}+{build.variant}) runs on"
                         f" ({low} to {high})", "use one of: " + ", ".join(fits))


@rule
def _framework_runs_on_accelerator(spec: Spec) -> Iterator[Problem]:
    framework = catalog.FRAMEWORK_TABLE[spec.training.framework]
    if spec.accelerator is None or spec.accelerator in framework.accelerators:
        return  # no hardware known yet (reported on its own), or a pairing that works
    shown = {"nvidia": "NVIDIA", "amd": "AMD", "none": "CPU-only"}
    others = [f.name for f in catalog.FRAMEWORK_TABLE.values() if spec.accelerator in f.accelerators]
    yield Problem("training.framework",
                  framework.not_on or f"{framework.name} does not run on {shown[spec.accelerator]}"
                  " nodes", f"use {', '.join(others[:-1])} or {others[-1]} on"
                  f" {shown[spec.accelerator]}, or {framework.name} on an"
                  f" {' or '.join(shown[a] for a in framework.accelerators if a != 'none')} node type")


def _resolve(spec: Spec) -> Spec:
    """Fill the defaults that depend on other fields."""
    c = spec.chameleon
    site = spec.site
    node_type = c.node_type
    if site.is_baremetal and node_type is None:
        node_type = catalog.default_hardware(site.name, spec.accelerator)
    hw = catalog.hardware_for(c.site, node_type or c.flavor or "")
    accel = spec.accelerator or (hw.accelerators[0] if hw else None)
    image = c.image
    if image is None and hw is not None and accel is not None:
        image = hw.required_image or catalog.DEFAULT_IMAGE[accel]
    chameleon = c.model_copy(update={
        "node_type": node_type,
        "cloud": c.cloud or site.cloud_entry,
        "image": image,
        "key_pair": c.key_pair or spec.project.name,
    })
    tracking = spec.tracking.model_copy(
        update={"experiment": spec.tracking.experiment or spec.project.name})
    resolved = spec.model_copy(update={"chameleon": chameleon, "accelerator": accel,
                                       "tracking": tracking})
    resolved._given = spec
    return resolved


def validate(data: Any, lines: dict[tuple[str, ...], int] | None = None,
             source: str = "spec.yaml") -> Spec:
    """Validate raw spec data; return the spec with every default resolved, or raise SpecError."""
    try:
        spec = Spec.model_validate(data)
        problems: list[Problem] = []
    except ValidationError as exc:
        problems = _pydantic_problems(exc)
    if not problems:
        spec = _resolve(spec)
        for check in RULES:
            problems.extend(check(spec))
    if problems:
        located = [_with_line(p, lines or {}) for p in problems]
        # In the order a reader meets them in the file; problems without a line come last.
        located.sort(key=lambda p: (p.line is None, p.line or 0))
        raise SpecError(located, source)
    return spec


def _with_line(problem: Problem, lines: dict[tuple[str, ...], int]) -> Problem:
    parts = tuple(problem.field.split("."))
    while parts and parts not in lines:
        parts = parts[:-1]
    line = lines.get(parts) if parts else lines.get(())
    return Problem(problem.field, problem.message, problem.hint, line)


def normalized(spec: Spec) -> dict[str, Any]:
    """The spec with every default filled in, as plain data (stable key order)."""
    return spec.normalized()


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "repro-gen spec"
    return schema
