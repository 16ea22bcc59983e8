"""msmgr.codec.versions names every version threshold once, and the code uses the names.

Two checks on the source: every name defined in versions.py is used somewhere else in
msmgr or msproxy (a threshold nobody tests is stale), and no comparison of a version
with a bare number is left in the packages that follow the rule.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "msmgr" / "codec" / "versions.py"
NAMED_ONLY = ["msmgr", "msproxy"]
"""Where a version is compared with names only: everywhere."""


@pytest.fixture(scope="module", autouse=True)
def framer_path() -> str:
    """No framer here: run once (overrides conftest's)."""
    return "none"


def defined_names() -> list[str]:
    tree = ast.parse(VERSIONS.read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def sources() -> list[Path]:
    return sorted(
        path
        for package in ("msmgr", "msproxy")
        for path in (ROOT / package).rglob("*.py")
        if path != VERSIONS
    )


def test_versions_defines_its_thresholds_with_a_docstring_each() -> None:
    names = defined_names()
    assert {"MSNP_PORT", "MIN_VERSION", "MAX_VERSION", "ERROR_PAYLOADS"} <= set(names)
    tree = ast.parse(VERSIONS.read_text())
    for node, after in zip(tree.body, tree.body[1:], strict=False):
        if isinstance(node, ast.Assign):
            documented = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
            assert documented, f"versions.py line {node.lineno}: no docstring"


@pytest.mark.parametrize("name", defined_names())
def test_every_name_in_versions_is_used(name: str) -> None:
    word = re.compile(rf"\b{name}\b")
    users = [p for p in sources() if word.search(p.read_text())]
    assert users, f"versions.{name} is used nowhere in msmgr or msproxy"


def _is_version(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return "version" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "version" in node.attr.lower()
    return False


def literal_comparisons(path: Path, root: Path = ROOT) -> list[str]:
    """``version >= 11`` and the like in ``path``: a version compared with a number."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_version(o) for o in operands) and any(
            isinstance(o, ast.Constant) and isinstance(o.value, int) for o in operands
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_version_is_compared_with_a_bare_number() -> None:
    found = [
        hit
        for directory in NAMED_ONLY
        for path in sorted((ROOT / directory).rglob("*.py"))
        for hit in literal_comparisons(path)
    ]
    assert found == [], "compare with a name from msmgr.codec.versions:\n" + "\n".join(found)


def test_the_check_finds_a_literal_comparison(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(version: int, s: object) -> bool:\n    return version >= 11\n")
    (hit,) = [h.split(": ", 1)[1] for h in literal_comparisons(sample, tmp_path)]
    assert hit == "version >= 11"
    sample.write_text("def f(s: object) -> bool:\n    return s.version < 8 or 3 > len('ab')\n")
    assert len(literal_comparisons(sample, tmp_path)) == 1
