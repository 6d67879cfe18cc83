"""The store's layers depend one way: `rules.py` (no SQL) ← `portable/` (SQLAlchemy, every
database) ← `dialects/` (fast paths) ← `sql_store.py`. Checked on the import statements of the
source (every one, also those under TYPE_CHECKING or inside functions) and on what importing
the portable store loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tracking_service.store as store_package

STORE = Path(store_package.__file__).parent
PORTABLE = sorted((STORE / "portable").rglob("*.py"))
DATABASE_NAMES = {"sqlite", "mysql", "mariadb", "postgresql"}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(STORE.parent.parent).with_suffix("").parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of `path` names (relative imports made absolute)."""
    package = ".".join(path.relative_to(STORE.parent.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_the_portable_store_is_found() -> None:
    names = {path.stem for path in PORTABLE}
    assert {"runs", "run_data", "upserts", "batch_ids", "tables", "logged_model_tables"} <= names
    assert {"parser", "run_query", "predicates"} <= names  # the filter language, portable/search/


@pytest.mark.parametrize("path", PORTABLE, ids=module_name)
def test_portable_never_imports_dialects_or_the_composition(path: Path) -> None:
    forbidden = ("tracking_service.store.dialects", "tracking_service.store.sql_store")
    bad = sorted(name for name in imported_modules(path) if name.startswith(forbidden))
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", PORTABLE, ids=module_name)
def test_portable_code_asks_no_database_its_kind(path: Path) -> None:
    """No `if dialect == "sqlite"` in the portable code: what differs per database is a dialect
    module's fast path, the `ConflictWrites` chosen at start-up, or SQLAlchemy's compilation per
    dialect (e.g. the case-sensitive LIKE of portable/search/predicates.py)."""
    compared = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Compare)
        and any(
            isinstance(side, ast.Constant) and side.value in DATABASE_NAMES
            for side in [node.left, *node.comparators]
        )
    ]
    assert compared == [], f"{path.name} compares with a database's name on lines {compared}"


def test_rules_hold_no_sql_and_import_no_store_layer() -> None:
    modules = imported_modules(STORE / "rules.py")
    bad = sorted(
        name
        for name in modules
        if name.split(".")[0] == "sqlalchemy"
        or name.startswith(("tracking_service.store.portable", "tracking_service.store.dialects"))
    )
    assert bad == []


def test_importing_the_portable_store_loads_no_fast_path() -> None:
    modules = " ".join(module_name(path).removesuffix(".__init__") for path in PORTABLE)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}.split(): importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('tracking_service.store.')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "tracking_service.store.portable.runs" in loaded  # the check itself works
    assert "tracking_service.store.dialects" not in loaded
    assert "tracking_service.store.sql_store" not in loaded
