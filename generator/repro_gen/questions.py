"""`repro-gen init`: the questions that matter, asked in order, each validated as it is answered.

The questions carry no rules of their own: choices come from the catalog and every answer is
checked by the same `spec.validate` that checks spec files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import click
import yaml

from . import catalog
from .errors import Problem, SpecError, printable
from .loader import parse_value
from .spec import _model_at, validate

Answers = dict[str, Any]


@dataclass(frozen=True)
class Question:
    key: str  # dotted spec path
    text: str
    default: Callable[[Answers], Any]
    choices: Callable[[Answers], list[str]] | None = None
    applies: Callable[[Answers], bool] = lambda a: True
    kind: str = "str"  # str | int | bool | list


def _site(a: Answers) -> catalog.Site:
    return catalog.SITES[a.get("chameleon.site", "CHI@UC")]


def _hardware(a: Answers) -> catalog.Hardware | None:
    return catalog.hardware_for(_site(a).name, a.get("chameleon.node_type")
                                or a.get("chameleon.flavor") or "")


def _accelerators(a: Answers) -> tuple[str, ...]:
    """What the chosen node type or flavor can carry (the first is its default)."""
    hw = _hardware(a)
    return hw.accelerators if hw else ("nvidia",)


def _default_hardware(a: Answers) -> str:
    """The node type or flavor init proposes: the one a spec without it gets (the catalog's
    default for the site and accelerator), or the site's first when it has no such hardware."""
    site = _site(a)
    return (catalog.default_hardware(site.name, a.get("accelerator"))
            or catalog.hardware_names(site.name)[0])


QUESTIONS: tuple[Question, ...] = (
    Question("project.name", "Project name (lowercase, digits, hyphens)", lambda a: "my-study"),
    Question("chameleon.site", "Chameleon site", lambda a: "CHI@UC",
             choices=lambda a: list(catalog.SITES)),
    Question("chameleon.node_type", "Bare-metal node type", _default_hardware,
             choices=lambda a: catalog.hardware_names(_site(a).name),
             applies=lambda a: _site(a).is_baremetal),
    Question("chameleon.flavor", "KVM flavor", _default_hardware,
             choices=lambda a: catalog.hardware_names(_site(a).name),
             applies=lambda a: not _site(a).is_baremetal),
    # Only composable hardware leaves the accelerator open; elsewhere it follows the node type.
    Question("accelerator", "Accelerator", lambda a: _accelerators(a)[0],
             choices=lambda a: list(_accelerators(a)), applies=lambda a: len(_accelerators(a)) > 1),
    Question("chameleon.node_count", "Number of nodes", lambda a: 1, kind="int"),
    Question("chameleon.lease_hours", f"Lease length in hours (max {catalog.MAX_LEASE_HOURS})",
             lambda a: 24, kind="int"),
    Question("chameleon.ssh_cidrs", "Networks allowed to SSH in (comma-separated CIDRs, e.g."
             " 203.0.113.7/32,198.51.100.0/24)",
             lambda a: [], applies=lambda a: _site(a).security_groups_enforced, kind="list"),
    Question("training.framework", "ML framework", lambda a: "pytorch",
             choices=lambda a: list(catalog.FRAMEWORKS)),
    Question("tracking.artifact_store", "Artifact store (minio on the node, or the Chameleon"
             " object store)", lambda a: "minio", choices=lambda a: list(catalog.ARTIFACT_STORES)),
    Question("tracking.backups", "Back up runs to the Chameleon object store?", lambda a: True,
             kind="bool"),
    Question("integrations.huggingface", "Use a Hugging Face token and model cache?",
             lambda a: a.get("training.framework") == "huggingface", kind="bool",
             applies=lambda a: a.get("training.framework") in ("huggingface", "pytorch",
                                                               "lightning")),
    Question("integrations.github", "Add a GitHub Actions workflow running `make check`?",
             lambda a: False, kind="bool"),
)


def _nest(answers: Answers) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 1}
    for key, value in answers.items():
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    data.setdefault("project", {}).setdefault("name", "my-study")
    return data


def _problems_for(key: str, answers: Answers) -> list[Problem]:
    try:
        validate(_nest(answers))
    except SpecError as exc:
        return [p for p in exc.problems if p.field == key or p.field.startswith(key + ".")
                or (key == "accelerator" and p.field == "accelerator")]
    return []


def _is_text(key: str) -> bool:
    """Whether the spec field at dotted `key` holds text (a string, or a choice of strings)."""
    *parents, leaf = key.split(".")
    model = _model_at(tuple(parents))
    field = model.model_fields.get(leaf) if model is not None else None
    if field is None:
        return False
    kinds = [field.annotation]
    while any(get_origin(k) in (Union, UnionType) for k in kinds):
        kinds = [a for k in kinds for a in (get_args(k) if get_origin(k) in (Union, UnionType)
                                            else (k,))]
    return all(k is str or k is type(None)
               or (get_origin(k) is Literal and all(isinstance(a, str) for a in get_args(k)))
               for k in kinds)


def _parse_override(item: str) -> tuple[str, Any]:
    """KEY=VALUE: text as written for a text field (a description is never YAML), otherwise YAML
    read by the spec loader's rules (so `--set chameleon.node_count=2` is a number)."""
    if "=" not in item:
        raise SpecError([Problem(printable(item), "expected KEY=VALUE",
                                 "e.g. --set chameleon.site=CHI@TACC")], "--set")
    key, raw = item.split("=", 1)
    key = key.strip()
    if _is_text(key):
        return key, raw
    return key, parse_value(raw, key) if raw.strip() else ""


def _prompt(q: Question, answers: Answers) -> Any:
    default = q.default(answers)
    if q.kind == "bool":
        return click.confirm(q.text, default=bool(default))
    if q.kind == "int":
        return click.prompt(q.text, default=default, type=int)
    if q.kind == "list":
        # No default to offer when the list may not be empty: an empty answer is asked again.
        raw = click.prompt(q.text, default=",".join(default) if default else None)
        return [part.strip() for part in raw.split(",") if part.strip()]
    choices = q.choices(answers) if q.choices else None
    # Choice returns the listed spelling: chi@uc is taken as CHI@UC.
    ptype = click.Choice(choices, case_sensitive=False) if choices else str
    if choices and default not in choices:
        default = choices[0]
    return click.prompt(q.text, default=default, type=ptype, show_choices=True)


def _as_list(value: Any) -> Any:
    """`--set chameleon.ssh_cidrs=a/32,b/24` as the prompt takes it: comma-separated."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _set_hint(q: Question) -> str:
    if q.kind == "list":
        return f"pass --set {q.key}=VALUE[,VALUE...], e.g. --set chameleon.ssh_cidrs=203.0.113.7/32"
    return f"pass --set {q.key}=VALUE"


# How to answer a list question at the prompt (the spec's hints show YAML lists instead).
LIST_ANSWER_HINT = "answer with comma-separated CIDRs, e.g. 203.0.113.7/32,198.51.100.0/24"


def _canonical(q: Question, value: Any, answers: Answers) -> Any:
    """A --set value for a question with choices, in the listed spelling (chi@uc → CHI@UC)."""
    if not q.choices or not isinstance(value, str):
        return value
    matches = [c for c in q.choices(answers) if c.lower() == value.lower()]
    return matches[0] if len(matches) == 1 else value


def ask(overrides: Iterable[str], interactive: bool = True) -> Answers:
    """Answers from --set values, then the applicable questions (or their defaults)."""
    given = dict(_parse_override(item) for item in overrides)
    set_keys = set(given)
    kinds = {q.key: q.kind for q in QUESTIONS}
    given = {k: _as_list(v) if kinds.get(k) == "list" else v for k, v in given.items()}
    answers: Answers = {}
    for q in QUESTIONS:
        if not q.applies({**answers, **given}):
            continue
        if q.key in given:
            answers[q.key] = _canonical(q, given.pop(q.key), {**answers, **given})
        elif interactive:
            while True:
                answers[q.key] = _prompt(q, {**answers, **given})
                problems = _problems_for(q.key, answers)
                if not problems:
                    break
                for p in problems:
                    hint = LIST_ANSWER_HINT if q.kind == "list" else p.hint
                    click.secho(f"  {p.message} — {hint}", fg="red", err=True)
            continue
        else:
            default = q.default({**answers, **given})
            if default in ([], None):
                continue
            answers[q.key] = default
        problems = _problems_for(q.key, answers)
        if problems:
            raise SpecError(problems, "--set" if q.key in set_keys else "defaults")
    answers.update(given)  # keys no question asks about (e.g. training.seed)
    try:
        validate(_nest(answers), source="answers")
    except SpecError as exc:
        # A question left unanswered without --defaults' help: say how to answer it.
        asked = {q.key: q for q in QUESTIONS}
        raise SpecError([Problem(p.field, p.message, _set_hint(asked[p.field]), p.line)
                         if p.field in asked and p.field not in answers else p
                         for p in exc.problems], "answers") from None
    return answers


def spec_text(answers: Answers) -> str:
    header = ("# repro-gen spec: `repro-gen validate` checks it, `repro-gen render` uses it.\n"
              "# Every field and its default: `repro-gen schema`, or the README's reference.\n")
    return header + yaml.safe_dump(_nest(answers), sort_keys=False, allow_unicode=True)
