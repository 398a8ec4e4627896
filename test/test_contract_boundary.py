"""The run-time side never imports grasp_planner.learning: what it shares with training is grasp_planner.contract.

learning/ may need torch; the node (planning/, perception/, ros/) must not. The check reads every
import statement in those packages, the ones inside functions included, and every string naming a
module (``importlib.import_module("...")``), so a lazy import cannot slip through.
"""
import ast
from pathlib import Path

import pytest

import grasp_planner

PACKAGE = Path(grasp_planner.__file__).parent
RUN_TIME = ("planning", "perception", "ros", "contract")
FORBIDDEN = "grasp_planner.learning"


def _imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module) for each import and each string constant that looks like a grasp_planner module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(FORBIDDEN):
            found.append((node.lineno, node.value))
    return found


def _is_learning(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(FORBIDDEN + ".")


@pytest.mark.parametrize("package", RUN_TIME)
def test_the_run_time_side_does_not_import_learning(package):
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, f"no modules under grasp_planner/{package}"
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
                 for path in files for line, module in _imported_names(path) if _is_learning(module)]
    assert not offenders, "the run-time side imports grasp_planner.learning:\n" + "\n".join(offenders)


def test_the_check_sees_a_lazy_import(tmp_path):
    """The reader finds an import inside a function and a module named by string, not only top-level imports."""
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from grasp_planner.learning.model import GraspCNN\n"
                      "    import importlib\n    importlib.import_module('grasp_planner.learning.train')\n")
    assert [m for _, m in _imported_names(module) if _is_learning(m)] == [
        "grasp_planner.learning.model", "grasp_planner.learning.model.GraspCNN", "grasp_planner.learning.train"]


def test_the_contract_does_not_import_torch():
    offenders = [f"{path.name}:{line}" for path in sorted((PACKAGE / "contract").rglob("*.py"))
                 for line, module in _imported_names(path) if module.split(".")[0] == "torch"]
    assert not offenders, offenders
