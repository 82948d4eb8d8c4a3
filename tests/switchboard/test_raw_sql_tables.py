"""Raw SQL names its tables through the models (``Model._meta.db_table``), so a table the
models rename cannot leave a statement behind that reads the old one.

Read from the source, not run: a statement on a rarely taken path fails here, not in
production.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
# Apps whose raw SQL takes every table name from the models.
THROUGH_THE_MODELS = ("campaigns", "compliance", "switchboard", "tenants")
# Everywhere else application code runs raw SQL (tests and migrations are history and
# fixtures of their own).
APPLICATION = (*THROUGH_THE_MODELS, "answering", "portal")
# A table named after FROM, JOIN, INTO, UPDATE or TABLE, optionally schema-qualified.
NAMED_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:[a-z_][a-z0-9_]*\.)?\"?([a-z_][a-z0-9_]*)",
                         re.IGNORECASE)


def _tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_models(include_auto_created=True)}


def _strings(*packages: str):
    """(path, line, text) of every string constant (f-strings' literal parts included) in
    the packages' modules, migrations left out."""
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield path.relative_to(ROOT), node.lineno, node.value


def test_the_sql_of_these_apps_names_no_table_literally():
    tables = _tables()
    literal = re.compile(r"\b(" + "|".join(sorted(map(re.escape, tables), key=len, reverse=True)) + r")\b")
    found = [f"{path}:{line}: {match}" for path, line, text in _strings(*THROUGH_THE_MODELS)
             for match in literal.findall(text)]
    assert found == [], "name these tables through Model._meta.db_table:\n" + "\n".join(found)


def test_a_table_named_literally_anywhere_is_a_models_table():
    tables = _tables()
    prefixes = tuple(f"{config.label}_" for config in apps.get_app_configs())
    unknown = [f"{path}:{line}: {name}" for path, line, text in _strings(*APPLICATION)
               for name in NAMED_TABLE.findall(text) if name.startswith(prefixes) and name not in tables]
    assert unknown == [], "no model has these tables:\n" + "\n".join(unknown)
