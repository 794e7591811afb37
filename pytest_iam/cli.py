"""The command line for evidence bundles: ``python -m pytest_iam`` or ``pytest-iam``.

Usage::

    pytest-iam verify out/                 # exit 0 and one line, or one line per changed, added or removed file and 1
    pytest-iam verify out/ --sha256 HEX    # also require the manifest's SHA-256 printed at the end of the run
    pytest-iam diff last/ out/             # what changed between two bundles (exit 0); --json prints diff.json's form
    pytest-iam report out/                 # write out/report.html again from the bundle (the same bytes, or refused)
    pytest-iam report out/ -o page.html    # the bundle's page, written elsewhere
    pytest-iam merge org/ shard-1/ shard-2/   # one bundle from the bundles of a --iam-shard matrix
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from . import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-iam", description="Check, compare and show pytest-iam evidence bundles.")
    parser.add_argument("--version", action="version", version=f"pytest-iam {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{verify,diff,report,merge}")
    verify = commands.add_parser("verify", help="recompute every hash of a bundle and check its manifest")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--sha256", default=None, metavar="HEX",
                        help="the manifest's SHA-256 as printed at the end of the run (kept elsewhere, e.g. a CI log)")
    diff = commands.add_parser("diff", help="what changed between two bundles: new failures, fixed, still failing, "
                                            "newly waived, waivers gone")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--json", action="store_true", help="print the diff as JSON (the form of diff.json)")
    report = commands.add_parser("report", help="write the bundle's page from its files: BUNDLE/report.html when that "
                                                "is missing or would be the same bytes, else refused (use -o)")
    report.add_argument("bundle", type=Path)
    report.add_argument("-o", "--output", type=Path, default=None, metavar="PATH",
                        help="write the page here instead of into the bundle")
    merge = commands.add_parser("merge", help="merge the bundles of disjoint accounts (the jobs of a --iam-shard "
                                              "matrix) into OUT")
    merge.add_argument("out", type=Path)
    merge.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE")
    return parser


def _error(problem: str) -> int:
    """One line on stderr, and the exit status of a command that could not do its work."""
    print(f"error: {problem}", file=sys.stderr)
    return 2


def _merge(out: Path, bundles: List[Path]) -> int:
    from .merge import MergeError, merge_bundles

    try:
        digest = merge_bundles(out, bundles)
    except MergeError as exc:
        return _error(str(exc))
    manifest = json.loads((out / "manifest.json").read_bytes())
    print(f"{out}: merged {len(bundles)} bundles, {len(manifest['accounts'])} accounts, "
          f"{manifest['findings']['total']} findings (manifest sha256 {digest})")
    return 0


def _verify(bundle: Path, expect: Optional[str]) -> int:
    from .bundle import verify_bundle

    problems = verify_bundle(bundle, expect_sha256=expect)
    if problems:
        for line in problems:
            print(f"{bundle}: {line}")
        return 1
    import hashlib

    from .bundle import MANIFEST

    manifest = json.loads((bundle / MANIFEST).read_bytes())
    digest = hashlib.sha256((bundle / MANIFEST).read_bytes()).hexdigest()
    print(f"{bundle}: verified: {len(manifest['files']) + 2} files as the manifest says (manifest sha256 {digest})")
    return 0


def _diff(old: Path, new: Path, as_json: bool) -> int:
    from .baseline import BaselineError, diff_bundles, summary
    from .bundle import verify_problem
    from .secrets import redact

    for bundle in (old, new):
        problem = verify_problem(bundle)
        if problem:
            print(f"{bundle}: does not verify: {problem}", file=sys.stderr)
            return 2
    try:
        result = diff_bundles(old, new)
    except BaselineError as exc:
        return _error(str(exc))
    if as_json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"since {old}: {summary(result)}")
    for name, word in (("new_failures", "new failure"), ("fixed", "fixed"), ("still_failing", "still failing"),
                       ("newly_waived", "newly waived"), ("waivers_gone", "waiver gone")):
        for entry in result[name]:
            reason = f": {entry['reason']}" if entry.get("reason") else ""
            print(redact(f"  {word}: {entry['account']} {entry['control']} {entry['resource']}{reason}"))
    return 0


def _report(bundle: Path, output: Optional[Path]) -> int:
    try:
        from .report_html import ReportError, write_report
    except ImportError as exc:
        return _error(f"the HTML report is not available: {exc}")
    try:
        out = write_report(bundle, output)
    except ReportError as exc:
        return _error(str(exc))
    print(f"{out}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify":
        return _verify(args.bundle, args.sha256)
    if args.command == "diff":
        return _diff(args.old, args.new, args.json)
    if args.command == "merge":
        return _merge(args.out, args.bundles)
    return _report(args.bundle, args.output)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
