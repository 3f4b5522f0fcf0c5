"""docs/conformance.md is generated from the tests' citations and must be current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "conformance", ROOT / "scripts" / "conformance.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


def test_report_is_current() -> None:
    report = (ROOT / "docs" / "conformance.md").read_text()
    assert report == _script().render(), "run `python scripts/conformance.py` and commit the result"


def test_citations_are_found_in_decorators_and_module_marks(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "pytestmark = [pytest.mark.req('A-1')]\n"
        "@pytest.mark.req('B-2', 'C-3')\n"
        "def test_one(): pass\n"
        "def test_two(): pass\n"
        "def helper(): pass\n"
    )
    module = _script()
    module.ROOT = tmp_path
    found = module.citations(tmp_path)
    assert found == {
        "A-1": ["test_x.py::test_one", "test_x.py::test_two"],
        "B-2": ["test_x.py::test_one"],
        "C-3": ["test_x.py::test_one"],
    }


def test_citations_in_a_parametrize_decorators_params_are_found(tmp_path: Path) -> None:
    (tmp_path / "test_y.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('x', [pytest.param(1, marks=pytest.mark.req('D-4')), 2])\n"
        "def test_p(x): pass\n"
    )
    module = _script()
    module.ROOT = tmp_path
    assert module.citations(tmp_path) == {"D-4": ["test_y.py::test_p"]}
