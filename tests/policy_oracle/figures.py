"""Figures about the differential corpus: decision mix, principal kinds, agreement and timing.

Usage: ``python -m tests.policy_oracle.figures [--faults]`` (from the repository root); ``--faults`` also counts
how many corpus decisions each seeded model fault changes (about 30 s more).
"""
from __future__ import annotations

import collections
import copy
import sys
import time

from .engine_adapter import engine_decision, model_decision
from .generate import CASES_PER_SEED, CORPUS_SEEDS, corpus as whole_corpus
from .model import parse_principal


def main() -> None:
    started = time.perf_counter()
    corpus = whole_corpus()
    generated = time.perf_counter()
    answers = [model_decision(case) for case in corpus]
    modelled = time.perf_counter()
    engine = [engine_decision(copy.deepcopy(case)) for case in corpus]
    finished = time.perf_counter()

    total = len(corpus)
    print(f"cases: {total} (seeds {CORPUS_SEEDS}, {CASES_PER_SEED} each)")
    print(f"time: generate {generated - started:.2f}s, model {modelled - generated:.2f}s, "
          f"engine {finished - modelled:.2f}s")
    mix = collections.Counter(answers)
    print("decision mix:", ", ".join(f"{k} {v} ({100 * v / total:.1f}%)" for k, v in sorted(mix.items())))
    kinds = collections.Counter((parse_principal(c["request"]["principal"]).kind, a) for c, a in zip(corpus, answers))
    for kind in sorted({k for k, _ in kinds}):
        row = {d: kinds[(kind, d)] for d in ("allow", "explicit_deny", "implicit_deny")}
        print(f"  {kind:10s} {row}")
    org = sum(1 for c in corpus if c["scps"]), sum(1 for c in corpus if c["rcps"])
    print(f"with SCPs: {org[0]}, with RCPs: {org[1]}, with boundary: "
          f"{sum(1 for c in corpus if c['permissions_boundary'] is not None)}, with session policy: "
          f"{sum(1 for c in corpus if c['session_policy'] is not None)}")
    disagreements = collections.Counter((e, a) for e, a in zip(engine, answers) if e != a)
    print(f"agreement: {total - sum(disagreements.values())}/{total}; disagreements (engine, model): "
          f"{dict(disagreements) or 'none'}")
    if "--faults" in sys.argv:
        _faults(corpus, answers)


def _faults(corpus: list[dict], answers: list[str]) -> None:
    import pytest

    from .test_corpus_sensitivity import FAULTS

    print("decisions changed by each seeded model fault:")
    for name, fault in sorted(FAULTS.items()):
        patch = pytest.MonkeyPatch()
        fault(patch)
        try:
            changed = sum(1 for case, before in zip(corpus, answers) if model_decision(case) != before)
        finally:
            patch.undo()
        print(f"  {changed:6d}  {name}")


if __name__ == "__main__":
    main()
