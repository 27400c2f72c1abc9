"""gen_api.py [--check] [STUB] [OUT]: the Python API reference, generated
from the package's stubs and their docstrings.

STUB defaults to python/vecstore/__init__.pyi and OUT to
docs/python-api.md (paths from the repository root). The stub is read with
ast (the package need not be built): every public function, class,
method, property and attribute, with its signature as written in the stub
and its docstring (an attribute's docstring is the string literal after
it, as Sphinx reads it). @overload variants are listed before the
implementation's signature. --check writes nothing and exits 1 when OUT
differs from what would be generated (the test suite runs it), 0 when it
is current; 2 for usage.
"""
from __future__ import annotations

import ast
import os
import sys
import textwrap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STUB = os.path.join(ROOT, "python", "vecstore", "__init__.pyi")
OUT = os.path.join(ROOT, "docs", "python-api.md")
KEEP_DUNDER = {"__init__", "__len__", "__enter__", "__exit__"}


def doc_of(node: ast.AST) -> str:
    d = ast.get_docstring(node, clean=True) if isinstance(
        node, (ast.FunctionDef, ast.ClassDef, ast.Module)) else None
    return d or ""


def signature(fn: ast.FunctionDef, owner: str | None) -> str:
    a = fn.args
    parts: list[str] = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for i, (arg, default) in enumerate(zip(pos, defaults)):
        if owner and i == 0 and arg.arg in ("self", "cls"):
            continue
        parts.append(_arg(arg, default))
        if a.posonlyargs and arg is a.posonlyargs[-1]:
            parts.append("/")
    if a.vararg:
        parts.append("*" + _arg(a.vararg, None))
    elif a.kwonlyargs:
        parts.append("*")
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        parts.append(_arg(arg, default))
    if a.kwarg:
        parts.append("**" + _arg(a.kwarg, None))
    ret = f" -> {ast.unparse(fn.returns)}" if fn.returns else ""
    name = f"{owner}.{fn.name}" if owner else fn.name
    return f"{name}({', '.join(parts)}){ret}"


def _arg(arg: ast.arg, default: ast.expr | None) -> str:
    s = arg.arg
    if arg.annotation is not None:
        s += f": {ast.unparse(arg.annotation)}"
        if default is not None:
            s += f" = {ast.unparse(default)}"
    elif default is not None:
        s += f"={ast.unparse(default)}"
    return s


def is_overload(fn: ast.FunctionDef) -> bool:
    return any(ast.unparse(d) in ("overload", "typing.overload") for d in fn.decorator_list)


def is_property(fn: ast.FunctionDef) -> bool:
    return any(ast.unparse(d) == "property" for d in fn.decorator_list)


def attributes(body: list[ast.stmt]) -> list[tuple[str, str, str]]:
    """(name, annotation or value, docstring) of annotated or assigned
    names, each with the string literal that follows it."""
    out = []
    for i, st in enumerate(body):
        name = value = None
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            name, value = st.target.id, ast.unparse(st.annotation)
        elif isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            name, value = st.targets[0].id, "= " + ast.unparse(st.value)
        if name is None or name.startswith("_") and name != "__version__":
            continue
        doc = ""
        nxt = body[i + 1] if i + 1 < len(body) else None
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            doc = textwrap.dedent(nxt.value.value).strip()
        out.append((name, value, doc))
    return out


def anchor(text: str) -> str:
    return "".join(c for c in text.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def functions(body: list[ast.stmt], owner: str | None, level: str) -> list[str]:
    lines: list[str] = []
    pending: list[str] = []
    for st in body:
        if not isinstance(st, ast.FunctionDef):
            continue
        if st.name.startswith("_") and st.name not in KEEP_DUNDER:
            continue
        if is_overload(st):
            pending.append(signature(st, owner))
            continue
        title = f"{owner}.{st.name}" if owner else st.name
        kind = " (property)" if is_property(st) else ""
        lines.append(f"{level} `{title}`{kind}")
        lines.append("")
        lines.append("```python")
        if is_property(st):
            ret = f": {ast.unparse(st.returns)}" if st.returns else ""
            lines.append(f"{title}{ret}")
        else:
            lines += pending
            lines.append(signature(st, owner))
        lines.append("```")
        lines.append("")
        pending = []
        d = doc_of(st)
        if d:
            lines += [d, ""]
    return lines


def generate(stub: str) -> str:
    with open(stub, encoding="utf-8") as f:
        mod = ast.parse(f.read(), stub)
    rel = os.path.relpath(stub, ROOT)
    L = ["# The vecstore Python API", "",
         f"Generated by `python/docs/gen_api.py` from `{rel}` (the package's stubs and",
         "their docstrings): do not edit by hand; run the script after changing the stubs.",
         "python/README.md has the install and a 5-minute start; docs/migrate-python.md",
         "shows Chroma and FAISS code side by side with vecstore's.", ""]
    classes = [c for c in mod.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_")]
    funcs = [f for f in mod.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")]
    L += ["## Contents", ""]
    seen: dict[str, int] = {}

    def link(name: str) -> str:  # GitHub numbers repeated heading anchors
        a = anchor(name)
        n = seen.get(a, 0)
        seen[a] = n + 1
        return a if n == 0 else f"{a}-{n}"

    L += [f"- [`{f.name}()`](#{link(f.name)})" for f in funcs if not is_overload(f)]
    L += [f"- [`{c.name}`](#{link(c.name)})" for c in classes]
    L += ["- [Module attributes and type aliases](#module-attributes-and-type-aliases)", ""]
    L += ["## The module", "", doc_of(mod), ""]
    L += ["## Functions", ""]
    L += functions(mod.body, None, "###")
    L += ["## Classes", ""]
    for c in classes:
        bases = ", ".join(ast.unparse(b) for b in c.bases)
        L += [f"### {c.name}", "", "```python", f"class {c.name}{f'({bases})' if bases else ''}",
              "```", ""]
        if doc_of(c):
            L += [doc_of(c), ""]
        attrs = attributes(c.body)
        if attrs:
            L += ["| attribute | type | meaning |", "|---|---|---|"]
            for name, value, d in attrs:
                L.append(f"| `{name}` | `{value}` | {' '.join(d.split()).replace('|', '&#124;')} |")
            L.append("")
        L += functions(c.body, c.name, "####")
    L += ["## Module attributes and type aliases", ""]
    L += ["| name | value | meaning |", "|---|---|---|"]
    for name, value, d in attributes(mod.body):
        L.append(f"| `{name}` | `{value.replace('|', '&#124;')}` | {' '.join(d.split()).replace('|', '&#124;')} |")
    L.append("")
    return "\n".join(L).rstrip() + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) > 2 or any(a.startswith("-") for a in args):
        print("usage: gen_api.py [--check] [STUB] [OUT]", file=sys.stderr)
        return 2
    stub = args[0] if args else STUB
    out = args[1] if len(args) > 1 else OUT
    text = generate(stub)
    if check:
        try:
            with open(out, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"gen_api.py: {out} is not current: run python/docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
