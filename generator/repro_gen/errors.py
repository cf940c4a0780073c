"""One error hierarchy. The CLI maps each kind to an exit code in exactly one place."""

from __future__ import annotations

from dataclasses import dataclass


def printable(text: str) -> str:
    """`text` with every character that is not printable (controls, bidi overrides, zero-width
    and other format characters, line separators, unassigned and private-use code points) written
    as an escape, so that a key or value quoted in a message can neither start a line nor reorder
    one."""
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"


class ReproGenError(Exception):
    """Base class of every error repro-gen reports to a user without a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where it is, what is wrong, how to fix it."""

    field: str
    message: str
    hint: str = ""
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{printable(source)}:{self.line}" if self.line else printable(source)
        text = f"{where}: {printable(self.field)}: {printable(self.message)}"
        return f"{text} — {printable(self.hint)}" if self.hint else text


class SpecError(ReproGenError):
    """The spec is invalid; carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem], source: str = "spec.yaml") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(p.format(source) for p in problems))


class InputError(ReproGenError):
    """A file repro-gen was asked to read is missing or unreadable (exit 1, like other errors)."""


class UnsafePathError(ReproGenError):
    """A destination path would escape the output directory or pass through a symlink."""

    exit_code = 3


class ConflictError(ReproGenError):
    """A re-render could not merge the user's edits with the generator's changes."""

    exit_code = 4

    def __init__(self, paths: list[str], dry_run: bool = False) -> None:
        self.paths = paths
        listed = "\n".join(f"  {p}" for p in paths)
        if dry_run:
            text = (f"{len(paths)} file(s) would conflict (nothing was written):\n{listed}\n"
                    "Render without --dry-run, then resolve the <<<<<<< markers in them.")
        else:
            text = (f"{len(paths)} file(s) have conflicts:\n{listed}\nResolve the <<<<<<< markers"
                    " (or keep your version), then re-run; --force takes the generator's version"
                    " and drops your edits.")
        super().__init__(text)


class ProjectMismatchError(ReproGenError):
    """The output directory holds another project's render: rendering into it would replace it."""

    exit_code = 6

    def __init__(self, out_dir: str, differences: list[tuple[str, object, object]]) -> None:
        self.differences = differences
        listed = "\n".join(f"  {field}: {old!r} there, {new!r} in this spec"
                           for field, old, new in differences)
        super().__init__(f"{out_dir} was rendered for another project:\n{listed}\n"
                         "Choose another -o directory, or pass --force to render this spec over it.")


class StateError(ReproGenError):
    """The output directory's .repro-gen/ records cannot be read."""


class BlueprintError(ReproGenError):
    """A blueprint or its manifest is broken (a bug in repro-gen, not in the spec)."""

    exit_code = 5
