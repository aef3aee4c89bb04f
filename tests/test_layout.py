"""The layout of the tests: what several test modules share lives in tests/support.

A test module imported by another is collected twice (its tests run again under the
importing module), and a conftest imported as a module gives its autouse fixtures to places
its folder does not cover; both hide where a helper really lives. Shared helpers go in
tests/support, shared fixtures in tests/support/fixtures (registered in tests/conftest.py).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(name: str) -> bool:
    return any(part == "conftest" or part.startswith("test_") for part in name.split("."))


def _package(path: Path) -> list[str]:
    return list(path.relative_to(TESTS.parent).with_suffix("").parts[:-1])


def _imports(path: Path) -> Iterator[tuple[ast.stmt, list[str]]]:
    """Each import statement of ``path`` with the modules it may name (relative imports
    resolved): for ``from package import name``, ``package.name`` too, as ``name`` may be a
    module."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield node, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                package = _package(path)
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            yield node, [module, *(f"{module}.{alias.name}" for alias in node.names)]


def test_no_module_imports_a_test_module_or_a_conftest():
    offenders = sorted(
        f"{path.relative_to(TESTS.parent)}:{node.lineno}: {ast.unparse(node)}"
        for path in TESTS.rglob("*.py")
        for node, modules in _imports(path)
        if any(_is_test_module(module) for module in modules)
    )

    assert not offenders, "import from tests/support instead:\n" + "\n".join(offenders)
