"""An independent reference model of AWS IAM policy evaluation, and differential tests against pytest_iam.policy.

Usage: ``pytest tests/policy_oracle`` runs the model's own sanity cases, the differential corpus and the targeted
operand checks; ``python -m tests.policy_oracle.figures [--faults]`` prints the corpus figures.

Modules: ``patterns`` (glob matching, policy variables), ``conditions`` (condition operators), ``model``
(``reference_evaluate``), ``generate`` (seeded case generator), ``shrink`` (minimal repros), ``engine_adapter``
(calls both evaluators), ``figures`` (corpus statistics).
"""
