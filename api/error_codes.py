"""Which problem codes each operation may answer, found by reading the code it runs.

For the OpenAPI contract (``api/docs.py``): from a route's endpoint function, the calls it makes are
followed into the project's own functions (``api``, ``activities``, ``domain``, ``models``; a few levels
deep), and every error raised with a literal code is collected with its HTTP status:

* ``ApiError(409, "invoice_not_open", …)`` → 409 ``invoice_not_open``;
* ``not_found("invoice", …)`` or ``NotFound("invoice", …)`` → 404 ``invoice_not_found``;
* ``SomeRule("code", …)`` for a ``RuleViolation`` subclass → its class's ``status`` and ``code``.

A code built at run time (an f-string) is not seen; the list is what the operation *may* answer on top
of the errors every operation shares (authentication, validation, idempotency, availability).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from types import FunctionType, ModuleType
from typing import Any

from api.errors import ApiError, not_found
from domain.errors import NotFound, RuleViolation

OUR_PACKAGES = ("api.", "activities.", "domain.", "models.")
DEPTH = 4


def _ours(obj: Any) -> bool:
    return (getattr(obj, "__module__", "") or "").startswith(OUR_PACKAGES)


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    """The object a call's function expression names, when it is a global name or a module attribute."""
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, scope)
        if isinstance(owner, ModuleType) or inspect.isclass(owner):
            return getattr(owner, node.attr, None)
    return None


def _literal(args: list[ast.expr], index: int) -> Any:
    if len(args) > index and isinstance(args[index], ast.Constant):
        return args[index].value  # type: ignore[attr-defined]
    return None


def _calls(fn: FunctionType) -> Iterator[tuple[ast.Call, dict[str, Any]]]:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return
    scope = {**fn.__globals__}
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=False):
            try:
                scope[name] = cell.cell_contents
            except ValueError:
                continue
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            yield node, scope


def _codes_of(fn: FunctionType, depth: int, seen: set[Any]) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for call, scope in _calls(fn):
        target = _resolve(call.func, scope)
        if target is None:
            continue
        if target is ApiError:
            status, code = _literal(call.args, 0), _literal(call.args, 1)
            if isinstance(status, int) and isinstance(code, str):
                found.add((status, code))
        elif target is not_found or (inspect.isclass(target) and issubclass(target, NotFound)):
            kind = _literal(call.args, 0)
            if isinstance(kind, str):
                found.add((404, f"{kind}_not_found"))
        elif inspect.isclass(target) and issubclass(target, RuleViolation):
            code = _literal(call.args, 0)
            if isinstance(code, str):
                found.add((int(target.status), code))
        elif isinstance(target, FunctionType) and _ours(target) and depth > 0 and target not in seen:
            seen.add(target)
            found |= _codes_of(target, depth - 1, seen)
    return found


@cache
def codes_for(endpoint: Callable[..., Any]) -> dict[int, list[str]]:
    """The problem codes the endpoint may answer, by HTTP status (sorted)."""
    fn = inspect.unwrap(endpoint)
    if not isinstance(fn, FunctionType):
        return {}
    by_status: dict[int, set[str]] = {}
    for status, code in _codes_of(fn, DEPTH, {fn}):
        by_status.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in sorted(by_status.items())}
