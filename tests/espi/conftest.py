"""The small demo utility (tests/demo/conftest.py) for the Green Button tests."""

from tests.demo.conftest import demo

__all__ = ["demo"]
