"""The names of vecstore/__init__.pyi (the documented API) are the names
the package has: every function, class, method and property of the stubs
exists at run time with the stubs' parameters, and py.typed is installed."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import vecstore

STUB = Path(vecstore.__file__).with_name("__init__.pyi")


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n != "self"]


def test_stub_and_py_typed_installed() -> None:
    assert STUB.is_file()
    assert os.path.isfile(STUB.with_name("py.typed"))


def test_stub_functions_exist_with_their_parameters() -> None:
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            obj = getattr(vecstore, node.name)
            got = [p for p in inspect.signature(obj).parameters]
            assert got == params(node), node.name


def test_stub_classes_and_members_exist() -> None:
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(vecstore, node.name)
        assert inspect.isclass(cls), node.name
        for m in node.body:
            if isinstance(m, ast.FunctionDef):
                assert hasattr(cls, m.name), f"{node.name}.{m.name}"
                overload = any(isinstance(d, ast.Name) and d.id == "overload"
                               for d in m.decorator_list)
                is_prop = any(isinstance(d, ast.Name) and d.id == "property"
                              for d in m.decorator_list)
                if not overload and not is_prop and m.name not in ("search",):
                    got = [p for p in inspect.signature(getattr(cls, m.name)).parameters
                           if p != "self"]
                    want = params(m)
                    if m.args.vararg:
                        continue
                    assert got == want, f"{node.name}.{m.name}: {got} != {want}"
            elif isinstance(m, ast.AnnAssign) and isinstance(m.target, ast.Name):
                attr = m.target.id
                if issubclass(cls, BaseException):
                    continue  # set per instance
                assert attr in getattr(cls, "__slots__", ()) or hasattr(cls, attr), \
                    f"{node.name}.{attr}"


def test_all_names_exist() -> None:
    missing = [n for n in vecstore.__all__ if not hasattr(vecstore, n)]
    assert not missing


def test_search_keywords_match_stub() -> None:
    tree = stub_tree()
    store = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Store")
    first = next(m for m in store.body if isinstance(m, ast.FunctionDef) and m.name == "search")
    got = list(inspect.signature(vecstore.Store.search).parameters)[1:]
    assert got == params(first)
