"""pytest-iam: AWS IAM standards as pytest tests."""

__version__ = "0.1.0"
