"""Summarise mutmut's results per module: killed, survived, equivalent, score.

Reads ``mutants/attn_utils/*.py.meta`` (written by ``mutmut run``) and the
list of equivalent mutants in ``docs/mutation.md``, writes
``build/mutation.json`` and prints a table. The score is
(killed + timeout) / (all - equivalent - not yet checked): a mutant that
makes the tests hang past mutmut's generous limit is detected, as in
Stryker's score; one that no test runs ("no tests") counts against it.

An equivalent mutant is listed in docs/mutation.md as a table row
``| `module.function` | `the mutated line` | why |`` (a ``|`` in the line written
``\|``); it is matched by its
function and the text of the mutated line (from ``mutmut show``), not by
mutmut's number, so the list survives edits elsewhere in the module. One rule
replaces many rows: in the drawing modules, a mutant that only changes the
letter case of a matplotlib colour string or of ``axis("off")`` is equivalent
(``case_only_style``), since matplotlib reads those case-insensitively.

Usage: python tools/mutation_report.py [--min-score 0.9] [--survivors]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("extract", "analysis", "scratch", "plot", "html", "models", "probing", "stats", "syntax",
        "words", "e5", "cache", "treebank", "offline", "errors", "widgets",
        "exercises.core", "exercises.checks", "exercises.checks_further")

#: mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into our columns.
KILLED_CODES = {1, 3, 37}  # failed test, pytest error, type check
TIMEOUT_CODES = {36, -24, 24, 152, 255}
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
SKIPPED_CODES = {34}


def equivalent_mutants(doc: Path) -> dict[tuple[str, str], str]:
    """(``module.function``, mutated line) -> reason, from the table rows of ``doc``."""
    if not doc.is_file():
        return {}
    found = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`([\w.]+)`\s*\|\s*`(.+?)`\s*\|(.*)\|\s*$", line)
        if m:
            found[(m.group(1), m.group(2).replace("\\|", "|").strip())] = m.group(3).strip()
    return found


def function_of(mutant: str) -> str:
    """``attn_utils.extract.xǁAttentionǁtidy__mutmut_3`` -> ``extract.Attention.tidy``."""
    dotted = mutant.removeprefix("attn_utils.")
    module = max((m for m in CORE if dotted.startswith(m + ".")), key=len, default=dotted.partition(".")[0])
    name = dotted[len(module) + 1 :].rsplit("__mutmut_", 1)[0]
    name = name.removeprefix("xǁ").replace("ǁ", ".") if name.startswith("xǁ") else name.removeprefix("x_")
    return f"{module}.{name}"


def _diff_lines(mutant: str, module: str) -> tuple[list[str], list[str]]:
    """The (removed, added) lines of the mutant's diff, stripped."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=Path("attn_utils", *module.split(".")).with_suffix(".py"))
    lines = diff.splitlines()
    removed = [l[1:].strip() for l in lines if l.startswith("-") and not l.startswith("---")]
    added = [l[1:].strip() for l in lines if l.startswith("+") and not l.startswith("+++")]
    return removed, added


def mutated_line(mutant: str, module: str) -> str:
    """The added lines of the mutant's diff, joined with `` / `` (or ``(removed) ...``)."""
    removed, added = _diff_lines(mutant, module)
    if not added:  # the mutant only deletes: name what it deletes
        return "(removed) " + " / ".join(removed)
    return " / ".join(added)


def case_only_style(mutant: str, module: str) -> bool:
    """True when the mutant only changes the letter case of matplotlib colour strings ("white" ->
    "WHITE", "#c44e52" -> "#C44E52") or of ``axis("off")``: matplotlib reads all of these
    case-insensitively, so no figure can differ (one rule instead of a table row per colour)."""
    from matplotlib.colors import is_color_like, to_rgba

    removed, added = _diff_lines(mutant, module)
    if len(removed) != len(added) or not added:
        return False
    for old, new in zip(removed, added):
        if old == new:
            continue
        if old.lower() != new.lower():
            return False
        pairs = [(a, b) for a, b in zip(re.findall(r'"([^"]*)"', old), re.findall(r'"([^"]*)"', new)) if a != b]
        if not pairs:
            return False
        for a, b in pairs:
            same_colour = is_color_like(a) and is_color_like(b) and to_rgba(a) == to_rgba(b)
            if not (same_colour or a.lower() == b.lower() == "off"):
                return False
    return True


def summarise(mutants_dir: Path, equivalents: dict[tuple[str, str], str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for module in CORE:
        meta = mutants_dir / "attn_utils" / (module.replace(".", "/") + ".py.meta")
        if not meta.is_file():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        row = {"killed": 0, "timeout": 0, "survived": 0, "no_tests": 0, "equivalent": 0, "skipped": 0,
               "not_checked": 0, "other": 0, "survivors": []}
        for name, code in sorted(codes.items()):
            if code not in KILLED_CODES | TIMEOUT_CODES and code is not None and _is_equivalent(name, module, equivalents):
                row["equivalent"] += 1
            elif code is None:
                row["not_checked"] += 1
            elif code in KILLED_CODES:
                row["killed"] += 1
            elif code in TIMEOUT_CODES:
                row["timeout"] += 1
            elif code in SURVIVED_CODES:
                row["survived"] += 1
                row["survivors"].append(name)
            elif code in NO_TESTS_CODES:
                row["no_tests"] += 1
                row["survivors"].append(name)
            elif code in SKIPPED_CODES:
                row["skipped"] += 1
            else:  # suspicious, segfault: not a clean kill
                row["other"] += 1
                row["survivors"].append(name)
        row["total"] = len(codes)
        counted = row["total"] - row["equivalent"] - row["skipped"] - row["not_checked"]
        row["score"] = round((row["killed"] + row["timeout"]) / counted, 4) if counted else None
        out[module] = row
    return out


def _is_equivalent(name: str, module: str, equivalents: dict[tuple[str, str], str]) -> bool:
    func = function_of(name)
    if any(f == func for f, _ in equivalents) and (func, mutated_line(name, module)) in equivalents:
        return True
    return module in STYLE_MODULES and case_only_style(name, module)


#: modules that draw with matplotlib, where case_only_style applies
STYLE_MODULES = ("plot", "widgets")


def table(summary: dict[str, dict]) -> str:
    head = "| module | mutants | killed | timeout | survived | no tests | equivalent | not yet checked | score |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for module, r in summary.items():
        score = "n/a" if r["score"] is None else f"{100 * r['score']:.1f}%"
        lines.append(f"| `{module}` | {r['total']} | {r['killed']} | {r['timeout']} | {r['survived']} | {r['no_tests']} "
                     f"| {r['equivalent']} | {r['not_checked']} | {score} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "mutation.md")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutation.json")
    parser.add_argument("--min-score", type=float, default=None, help="exit 1 if a module scores lower")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants too")
    args = parser.parse_args(argv)

    import os

    os.chdir(ROOT)  # mutmut reads its config and mutants/ relative to the project
    equivalents = equivalent_mutants(args.doc)
    summary = summarise(args.mutants, equivalents)
    if not summary:
        print(f"no mutmut results under {args.mutants}: run `make mutate` first", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(table(summary))
    print(f"\nwritten: {args.out}")
    if args.survivors:
        for module, r in summary.items():
            for name in r["survivors"]:
                print(f"survived: {name}  ({function_of(name)}: {mutated_line(name, module)})")
    if args.min_score is not None:
        low = [m for m, r in summary.items() if r["score"] is not None and r["score"] < args.min_score]
        if low:
            print(f"below {args.min_score:.0%}: {', '.join(low)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
