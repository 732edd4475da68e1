"""No function in archsim/ is longer than 80 lines (issue 32): a function a reader cannot see whole is
where counting and timing rules hide. Measured with ast from the first decorator to the last line,
nested functions included in the one that holds them."""
from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 80
PACKAGE = Path(__file__).resolve().parents[1] / "archsim"


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length in lines) of every function in ``source`` longer than ``limit``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            length = node.end_lineno - first + 1
            if length > limit:
                out.append((node.name, first, length))
    return out


def test_the_measure_counts_decorators_bodies_and_nested_functions():
    body = "\n".join(f"        x{i} = {i}" for i in range(8))
    src = f"@staticmethod\ndef outer():\n    def inner():\n{body}\n        return 1\n    return inner\n"
    # outer: decorator + def + inner (def + 8 + return) + return = 13 lines; inner: 10 lines
    assert long_functions(src, 12) == [("outer", 1, 13)]
    assert sorted(long_functions(src, 9)) == [("inner", 3, 10), ("outer", 1, 13)]
    assert long_functions(src, 13) == []


def test_no_function_in_archsim_is_over_80_lines():
    too_long = [f"{path.relative_to(PACKAGE.parent)}:{line} {name} ({n} lines)"
                for path in sorted(PACKAGE.rglob("*.py"))
                for name, line, n in long_functions(path.read_text(encoding="utf-8"))]
    assert not too_long, "split these functions (at most 80 lines each): " + "; ".join(too_long)
