"""Writes docs/c-api.md from the public headers and docs/python-api.md from the package's
docstrings, so the API documentation says what the code says.

    /usr/bin/python3 scripts/gen_docs.py            # rewrite both files
    /usr/bin/python3 scripts/gen_docs.py --check    # exit 1 if either is out of date

The Python part needs the built extension (make python) on PYTHONPATH.
"""

import argparse
import inspect
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HEADERS = [
    ("ggml.h", "Tensors, operations and graphs"),
    ("ggml-alloc.h", "Tensor and graph allocators"),
    ("ggml-backend.h", "Buffer types, buffers, backends, devices"),
    ("ggml-cpu.h", "The CPU backend"),
    ("ggml-vulkan.h", "The Vulkan backend"),
    ("ggml-rpc.h", "Devices on other machines: ggml's RPC protocol"),
    ("gguf.h", "GGUF model files: reading and writing"),
    ("ggalloc.h", "What ggalloc adds: planners, plans as data, verification, graph files"),
    ("ggalloc-planner.h", "The planner on bare lifetimes, with its options"),
    ("ggalloc-sched.h", "What ggalloc adds to the scheduler: its planner and its plans"),
    ("ggalloc-gguf.h", "What ggalloc adds to GGUF: mapped files"),
    ("ggalloc-rpc.h", "What ggalloc adds to RPC: a server on its own thread, client timeouts"),
]


def _header_intro(lines):
    """The comment block at the top of a header (after #pragma once), without the slashes."""
    out = []
    started = False
    for line in lines:
        s = line.strip()
        if s.startswith("#pragma"):
            continue
        if s.startswith("//"):
            started = True
            out.append(s[2:][1:] if s[2:].startswith(" ") else s[2:])
        elif started:
            break
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def _declarations(lines):
    """(section, comment, declaration) for each GGML_API declaration, in header order."""
    items = []
    section = ""
    comment = []
    # the header's opening comment is its introduction, not a section
    i = next((k for k, line in enumerate(lines) if line.startswith("#include")), 0)
    while i < len(lines):
        s = lines[i].strip()
        if s == "//" and i + 2 < len(lines) and lines[i + 1].strip().startswith("// ") \
                and lines[i + 2].strip() == "//":
            section = lines[i + 1].strip()[3:]
            comment = []
            i += 3
            continue
        if s.startswith("//"):
            comment.append(s[2:].strip())
        elif s.startswith("GGML_API") or s.startswith("GGML_NORETURN") or s.startswith("GGML_ATTRIBUTE_FORMAT"):
            decl = [s]
            while not re.sub(r"//.*$", "", decl[-1]).rstrip().endswith(";") and i + 1 < len(lines):
                i += 1
                decl.append(lines[i].strip())
            text = " ".join(decl)
            text = re.sub(r"GGML_ATTRIBUTE_FORMAT\([^)]*\)\s*", "", text)
            text = re.sub(r"GGML_NORETURN\s*", "", text)
            text = re.sub(r"\bGGML_API\s+", "", text)
            text = re.sub(r"\s+", " ", text).replace("( ", "(")
            trailing = ""
            m = re.search(r";\s*//\s*(.*)$", text)
            if m:
                trailing = m.group(1)
                text = text[: m.start() + 1]
            items.append((section, " ".join(comment + ([trailing] if trailing else [])), text))
            comment = []
        elif not s:
            comment = []
        i += 1
    return items


def c_api():
    out = ["# C API", "",
           "Generated from the public headers in `csrc/include/` by `scripts/gen_docs.py`; the headers",
           "are the reference. Conventions everywhere: functions that return a pointer return NULL on",
           "failure, functions that return `bool` return false, functions that return",
           "`enum ggml_status` return a failure status, and each logs one message through the callback",
           "set with `ggml_log_set` that names the tensor and the numbers. Nothing aborts on bad input.",
           "Objects from `*_new` / `*_init` / `*_alloc_buffer` are freed with the matching `*_free`,",
           "and `*_free(NULL)` is a no-op.", ""]
    for name, title in HEADERS:
        path = os.path.join(ROOT, "csrc", "include", name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        out += [f"## {name}: {title}", ""]
        intro = _header_intro(lines)
        if intro:
            out += ["```c"] + intro + ["```", ""]
        section = None
        for sec, comment, decl in _declarations(lines):
            if sec != section and sec:
                out += ["", f"### {sec}", ""]
                section = sec
            out.append(f"- `{decl}`" + (f"  \n  {comment}" if comment else ""))
        out.append("")
    return "\n".join(out)


def _ann(a):
    """An annotation as the source wrote it, without the quotes of postponed evaluation."""
    s = a if isinstance(a, str) else inspect.formatannotation(a)
    s = re.sub(r"ForwardRef\('([^']*)'\)", r"\1", s)
    return s.replace('"', "").replace("'", "")


def _sig(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = []
    star = False
    for p in sig.parameters.values():
        if p.kind == p.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        text = ("*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else "") + p.name
        if p.kind == p.VAR_POSITIONAL:
            star = True
        if p.annotation is not p.empty:
            text += ": " + _ann(p.annotation)
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + repr(p.default)
        params.append(text)
    out = "(" + ", ".join(params) + ")"
    if sig.return_annotation is not sig.empty:
        out += " -> " + _ann(sig.return_annotation)
    return out


def _entry(head, doc):
    """A list item: the signature, then the whole docstring indented beneath it."""
    if not doc:
        return [head]
    lines = doc.splitlines()
    body = ["  " + line if line.strip() else "" for line in lines]
    return [head + ":", ""] + body + [""]


def _doc(obj):
    d = inspect.getdoc(obj) or ""
    return d.strip()


def python_api():
    sys.path.insert(0, ROOT)
    import ggalloc as gg  # noqa: E402

    out = ["# Python API", "",
           "Generated from the docstrings of the `ggalloc` package by `scripts/gen_docs.py`.",
           "`import ggalloc as gg`. Shapes are numpy order (last axis fastest); `ne` is ggml order.",
           "Every exception the package raises derives from `gg.GgallocError`.", ""]
    names = sorted(getattr(gg, "__all__", [n for n in dir(gg) if not n.startswith("_")]))
    classes = [n for n in names if inspect.isclass(getattr(gg, n))]
    funcs = [n for n in names if callable(getattr(gg, n)) and not inspect.isclass(getattr(gg, n))]
    out += ["## Classes", ""]
    for n in classes:
        cls = getattr(gg, n)
        out += [f"### `gg.{n}{_sig(cls) if not issubclass(cls, BaseException) else ''}`", ""]
        d = _doc(cls)
        if d:
            out += [d, ""]
        # members of the class and of the package's own base classes (close, closed, ...)
        members = {}
        for klass in reversed(cls.__mro__):
            if klass.__module__.startswith("ggalloc"):
                members.update(vars(klass))
        for m, member in sorted(members.items()):
            if m.startswith("_"):
                continue
            if isinstance(member, property):
                out += _entry(f"- `.{m}`", _doc(member))
            elif inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod)):
                fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                out += _entry(f"- `.{m}{_sig(fn)}`", _doc(fn))
        out.append("")
    out += ["## Functions", ""]
    for n in funcs:
        fn = getattr(gg, n)
        out += _entry(f"- `gg.{n}{_sig(fn)}`", _doc(fn))
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the docs are out of date")
    args = ap.parse_args()
    docs = {"c-api.md": c_api(), "python-api.md": python_api()}
    stale = []
    for name, text in docs.items():
        path = os.path.join(ROOT, "docs", name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    if args.check and stale:
        print("out of date: " + ", ".join(stale) + " (run scripts/gen_docs.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
