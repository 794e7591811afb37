"""ACME's check pack: shared checks and predicates every ACME team gets with ``pip install acme-iam-pack``.

pytest loads it through its ``pytest11`` entry point; the two hooks below add the folder of checks and a predicate to
pytest-iam's library. A check id that is already taken (shipped, or by another pack) stops the run, naming both files.
"""

from pathlib import Path

from pytest_iam.findings import reads


@reads("name", "password_enabled")
def service_user_without_console(resource, inventory, params, prefix="svc-"):
    """Service users (named ``<prefix>...``) are used by programs: they must not have a console password."""
    if resource["name"].startswith(prefix) and resource["password_enabled"]:
        return f"service user {resource['name']} has a console password"
    return None


def pytest_iam_check_paths(config):
    return [Path(__file__).parent / "checks"]


def pytest_iam_predicates(config):
    return {"service_user_without_console": service_user_without_console}
