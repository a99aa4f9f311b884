"""Keeps the simrun examples of Markdown files current: ``python -m netsim.tutorial
[--check] FILE.md...``.

An example is a fenced code block whose info string has the word ``simrun`` (after
the language, which GitHub and MkDocs go by), holding one simrun command line; the
next fenced block, when its info string has the word ``simrun-output``, holds what
the command prints::

    ```sh simrun
    simrun --seed 42 ../examples/python/thread_pool.py
    ```

    ```text simrun-output
    thread_pool: job 1 took 1.000 s (in ThreadPoolExecutor-0_0)
    ...
    ```

The command runs in the Markdown file's directory, with this Python's simrun.
Without --check each output block is rewritten in place (and added after a
command that has none); with --check nothing is written, and a file whose output
blocks differ from what the commands print now is shown as a unified diff and
fails (exit status 1): the check for CI, in the spirit of cog --check and doctest.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Sequence

from netsim import _formats

COMMAND_MARK = "simrun"
OUTPUT_MARK = "simrun-output"
# A fence opens with three or more backticks or tildes, indented at most three
# spaces (CommonMark); what follows is the info string.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


class TutorialError(Exception):
    """A file that cannot be read or an example that cannot run: one line."""


@dataclass(frozen=True)
class Block:
    start: int  #: index of the opening fence line
    end: int  #: index just past the closing fence line
    info: list[str]  #: the info string's words
    body: str


def blocks(lines: list[str]) -> list[Block]:
    """The fenced code blocks of a Markdown file's lines (with their newlines)."""
    found, i = [], 0
    while i < len(lines):
        opening = _FENCE.match(lines[i].rstrip("\n"))
        if not opening:
            i += 1
            continue
        fence, info = opening.group(1), opening.group(2)
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j].rstrip("\n"))
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not closing.group(2).strip():
                break
            j += 1
        found.append(Block(i, min(j + 1, len(lines)), info.split(), "".join(lines[i + 1:j])))
        i = j + 1
    return found


def run_example(command: str, directory: str, where: str) -> str:
    """What the command prints on stdout. Raises TutorialError."""
    try:
        words = shlex.split(command.replace("\\\n", " "))
    except ValueError as e:
        raise TutorialError(f"{where}: cannot split the command into words: {e}") from None
    if not words or words[0] != "simrun":
        raise TutorialError(f"{where}: a block marked {COMMAND_MARK!r} holds one simrun command line, "
                            f"not {command.strip()[:60]!r}")
    done = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], cwd=directory,
                          stdin=subprocess.DEVNULL, capture_output=True)
    if done.returncode == 2:  # simrun's own usage errors
        problem = done.stderr.decode(errors="replace").strip().splitlines()
        raise TutorialError(f"{where}: {problem[-1] if problem else 'simrun failed with status 2'}")
    return done.stdout.decode("utf-8", "backslashreplace")


def updated(text: str, path: str) -> tuple[str, int]:
    """The file's text with every output block made current, and how many examples
    it has. Raises TutorialError."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    found = blocks(lines)
    directory = os.path.dirname(os.path.abspath(path))
    replacements: list[tuple[int, int, str]] = []  # (start, end, new lines), from the top
    examples = 0
    for i, block in enumerate(found):
        if COMMAND_MARK not in block.info[1:]:
            continue
        examples += 1
        output = run_example(block.body, directory, f"{path}:{block.start + 1}")
        after = found[i + 1] if i + 1 < len(found) else None
        if after is not None and OUTPUT_MARK in after.info:
            language = after.info[0] if after.info[0] != OUTPUT_MARK else "text"
            replacements.append((after.start, after.end, _formats.markdown(output, f"{language} {OUTPUT_MARK}")))
        else:
            replacements.append((block.end, block.end, "\n" + _formats.markdown(output, f"text {OUTPUT_MARK}")))
    for start, end, new in reversed(replacements):
        lines[start:end] = [new]
    return "".join(lines), examples


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"netsim.tutorial: {message}; see python -m netsim.tutorial --help", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m netsim.tutorial", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status: 0 when every file is current (or was updated), 1 when --check "
               "found a difference, 2 for bad input or an example that cannot run")
    parser.add_argument("files", nargs="+", metavar="FILE.md")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; show a diff and exit 1 when an output block is stale")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise TutorialError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
            new, examples = updated(text, path)
        except TutorialError as e:
            print(f"netsim.tutorial: {e}", file=sys.stderr)
            return 2
        if examples == 0:
            print(f"netsim.tutorial: {path}: no example (a fenced block marked "
                  f"'{COMMAND_MARK}', e.g. ```sh {COMMAND_MARK})", file=sys.stderr)
            return 2
        if new == text:
            continue
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                                       path, f"{path} (as the examples print now)"))
            print(f"netsim.tutorial: {path} is out of date: run python -m netsim.tutorial {path}",
                  file=sys.stderr)
            status = 1
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            print(f"netsim.tutorial: updated {path}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
