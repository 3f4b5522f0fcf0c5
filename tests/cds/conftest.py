"""The small demo utility (tests/demo/conftest.py) for the Customer Data API tests."""

from tests.demo.conftest import demo

__all__ = ["demo"]
