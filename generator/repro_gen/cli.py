"""The command line. Thin: parse arguments, call the library, map errors to exit codes.

Imports of pydantic, jinja2 and the rest happen inside the commands so that `--help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import ReproGenError, SpecError

# A wrong option or argument (sysexits.h EX_USAGE), apart from the errors of repro-gen itself.
EX_USAGE = 64

EXAMPLES = """
\b
Examples:
  repro-gen init                          # answer a few questions, get spec.yaml
  repro-gen init --defaults --set project.name=my-study --set chameleon.site=CHI@TACC
  repro-gen validate spec.yaml            # list every problem, with line numbers
  repro-gen render spec.yaml -o my-study  # write (or update) the generated repository
  repro-gen render spec.yaml -o my-study --dry-run --diff
  repro-gen schema > spec.schema.json     # JSON Schema for editor completion
"""


class _Group(click.Group):
    """Maps every repro-gen error to its exit code, in this one place."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EX_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReproGenError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            message = str(exc) if isinstance(exc, SpecError) else f"error: {exc}"
            click.secho(message, fg="red", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(1)


@click.group(cls=_Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repro-gen")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Render a reproducible ML research repository for Chameleon Cloud from a spec."""
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
def validate(spec_path: Path) -> None:
    """Check SPEC; list every problem as FILE:LINE: field: what — fix (exit 2)."""
    from . import cache
    from .loader import load

    spec = load(spec_path, use_cache=True)
    cache.save()
    click.echo(f"{spec_path}: valid ({spec.chameleon.site}, {spec.hardware_name}, "
               f"{spec.accelerator}, {spec.training.framework})")


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the generated repository (default: the project name).")
@click.option("--dry-run", is_flag=True, help="Write nothing; show what would happen.")
@click.option("--diff", "show_diff", is_flag=True, help="Show unified diffs of what changes.")
@click.option("--force", is_flag=True, help="Overwrite files you edited (no merge).")
def render(spec_path: Path, out_dir: Path | None, dry_run: bool, show_diff: bool,
           force: bool) -> None:
    """Render SPEC into a repository; merge with your edits on re-render."""
    from . import write
    from .errors import ConflictError
    from .loader import load
    from .project import render_into
    from .report import summary_table

    spec = load(spec_path, use_cache=True)
    out_dir = out_dir or Path(spec.project.name)
    result = render_into(spec, out_dir, force=force, dry_run=dry_run)
    if show_diff:
        for action in result.actions:
            if action.writes:
                click.echo(write.diff(action), nl=False)
    click.echo(summary_table(result.actions, out_dir, dry_run))
    if result.conflicts:
        raise ConflictError(result.conflicts, dry_run)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json",
              show_default=True, help="JSON Schema, or the Markdown reference table.")
def schema(fmt: str) -> None:
    """Print the spec's JSON Schema (or its reference table)."""
    if fmt == "markdown":
        from .reference import markdown

        click.echo(markdown(), nl=False)
        return
    import json

    from .spec import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.option("-o", "--output", "out_path", default="spec.yaml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where to write the spec.")
@click.option("--defaults", is_flag=True, help="Ask nothing; take defaults and --set values.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Answer a question up front, e.g. --set chameleon.site=CHI@TACC.")
@click.option("--force", is_flag=True, help="Overwrite an existing spec file.")
def init(out_path: Path, defaults: bool, overrides: tuple[str, ...], force: bool) -> None:
    """Ask the questions that matter and write a spec file."""
    from .questions import ask, spec_text

    if out_path.exists() and not force:
        raise ReproGenError(f"{out_path} exists; choose another -o path or pass --force")
    answers = ask(overrides, interactive=not defaults)
    out_path.write_text(spec_text(answers), encoding="utf-8")
    click.echo(f"wrote {out_path}; next: repro-gen render {out_path}")


def run() -> None:
    """The console script: `main`, then a quick exit.

    A short command allocates little and frees it all at exit, so the cyclic garbage collector
    only costs time here; at the end, once stdout and stderr are flushed (every file repro-gen
    writes is closed by then), the process leaves without tearing down its modules one by one.
    """
    import gc

    gc.disable()
    # repro-gen's models use no pydantic plugin; looking for one reads every installed package's
    # metadata, a large share of a validation.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
