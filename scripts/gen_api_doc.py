#!/usr/bin/env python3
"""gen_api_doc.py — writes docs/API.md from include/strata.h.

The header is the source of truth: its comments are the contracts. This
script groups the header's declarations by its sections (the "/* ---- x ----"
and "/* ==== x ====" markers) and prints, for each run of declarations that
follows one comment, the comment as text and the declarations as C, with an
index of every function at the top.

  scripts/gen_api_doc.py            rewrite docs/API.md
  scripts/gen_api_doc.py --check [HEADER [DOC]]
                                    exit 1 if DOC (docs/API.md) is not what
                                    this script writes from HEADER
                                    (include/strata.h), or if a function the
                                    header declares has no entry in it
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "strata.h")
OUTPUT = os.path.join(ROOT, "docs", "API.md")

SECTION = re.compile(r"^/\* (?:-{4}|={4}) (.*?)\s*(?:-{3,}|={3,})?\s*(\*/)?$")
FUNC = re.compile(r"\b(strata_\w+)\s*\(")
FUNC_PTR = re.compile(r"\(\s*\*\s*(strata_\w+)\s*\)")
TYPEDEF_NAME = re.compile(r"\b(strata_\w+)\s*;\s*$")


def comment_text(lines):
    """The text of a /* ... */ comment given as its lines."""
    out = []
    for i, line in enumerate(lines):
        s = line.strip()
        if i == 0:
            s = s[2:]
        if s.endswith("*/"):
            s = s[:-2]
        s = s.strip()
        if s.startswith("* "):
            s = s[2:]
        elif s == "*":
            s = ""
        out.append(s)
    text = "\n".join(out).strip()
    return text


def strip_comments(code):
    return re.sub(r"/\*.*?\*/", " ", code, flags=re.S)


def declared_names(code):
    """(functions, types) declared by one declaration."""
    bare = strip_comments(code)
    funcs, types = [], []
    if bare.lstrip().startswith("typedef"):
        m = FUNC_PTR.search(bare)
        if m:
            types.append(m.group(1))
        else:
            m = TYPEDEF_NAME.search(bare.strip())
            if m:
                types.append(m.group(1))
    elif bare.lstrip().startswith("enum"):
        types.append("enum")
    else:
        m = FUNC.search(bare)
        if m:
            funcs.append(m.group(1))
    return funcs, types


def parse(text):
    """Returns (intro, sections); a section is [title, intro, groups]; a group
    is [comment, [declaration, ...]]."""
    lines = text.split("\n")
    intro = None
    sections = []
    current = None
    group = None  # the group declarations join
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        s = line.strip()
        if not s:
            group = None
            i += 1
            continue
        if s.startswith("/*"):
            block = [line]
            while not block[-1].rstrip().endswith("*/"):
                i += 1
                block.append(lines[i])
            i += 1
            m = SECTION.match(block[0].strip())
            if m and (block[0].strip().startswith("/* ----")
                      or block[0].strip().startswith("/* ====")):
                title = m.group(1).strip().rstrip("=-").strip()
                if title.startswith("end of"):
                    group = None
                    continue
                rest = comment_text(["/*"] + block[1:]) if len(block) > 1 else ""
                current = [title, rest, []]
                sections.append(current)
                group = None
                continue
            body = comment_text(block)
            if intro is None and not sections:
                intro = body
                continue
            if current is None:
                current = ["General", "", []]
                sections.append(current)
            if group is not None and not group[1] and current[2] and \
                    current[2][-1] is group:
                group[0] += "\n\n" + body
            else:
                group = [body, []]
                current[2].append(group)
            continue
        if s.startswith("#") or s.startswith('extern "C"') or s == "}":
            i += 1
            continue
        # a declaration: up to a ';' at brace depth 0
        decl = []
        depth = 0
        while True:
            decl.append(lines[i])
            bare = strip_comments(lines[i])
            depth += bare.count("{") - bare.count("}")
            i += 1
            if depth == 0 and bare.rstrip().endswith(";"):
                break
            if i >= n:
                sys.exit("gen_api_doc: unterminated declaration: "
                         + "\n".join(decl))
        code = "\n".join(decl)
        # a comment still open at the end of a line is part of the code
        if current is None:
            current = ["General", "", []]
            sections.append(current)
        if group is None:
            group = ["", []]
            current[2].append(group)
        group[1].append(code)
    return intro or "", sections


def anchor(title):
    a = title.lower()
    a = re.sub(r"[^a-z0-9 _-]", "", a)
    return a.replace(" ", "-")


def render(intro, sections):
    out = []
    out.append("# libstrata API reference")
    out.append("")
    out.append("Generated from `include/strata.h` by `scripts/gen_api_doc.py`;"
               " do not edit by")
    out.append("hand (`tests/cli/api_doc_test.sh` fails when this file and"
               " the header differ).")
    out.append("Link with `pkg-config --cflags --libs strata`; examples are in"
               " `examples/`.")
    out.append("")
    out.append(intro)
    out.append("")
    out.append("## Contents")
    out.append("")
    for title, _, groups in sections:
        funcs = []
        for _, decls in groups:
            for d in decls:
                funcs += declared_names(d)[0]
        out.append("- [%s](#%s)" % (title, anchor(title))
                   + (": " + ", ".join("`%s`" % f for f in funcs)
                      if funcs else ""))
    out.append("")
    for title, sintro, groups in sections:
        out.append("## " + title)
        out.append("")
        if sintro:
            out.append(sintro)
            out.append("")
        for comment, decls in groups:
            if not decls:
                # a comment that introduces what follows
                out.append(comment)
                out.append("")
                continue
            names = []
            for d in decls:
                f, t = declared_names(d)
                names += f + [x for x in t if x != "enum"]
            if names:
                out.append("### " + ", ".join("`%s`" % x for x in names))
                out.append("")
            out.append("```c")
            out.extend(decls)
            out.append("```")
            out.append("")
            if comment:
                out.append(comment)
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def header_functions(text):
    """Every function the header declares, found independently of parse()."""
    bare = strip_comments(text)
    names = set()
    for stmt in bare.split(";"):
        st = stmt.strip()
        if st.startswith("typedef") or st.startswith("#"):
            continue
        m = re.search(r"\b(strata_\w+)\s*\(", st)
        if m and not FUNC_PTR.search(st):
            names.add(m.group(1))
    return names


def main():
    global HEADER, OUTPUT
    if len(sys.argv) > 2:
        HEADER = sys.argv[2]
    if len(sys.argv) > 3:
        OUTPUT = sys.argv[3]
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    doc = render(*parse(text))
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        try:
            with open(OUTPUT, encoding="utf-8") as f:
                have = f.read()
        except OSError as e:
            print("%s: %s" % (OUTPUT, e), file=sys.stderr)
            return 1
        bad = 0
        for name in sorted(header_functions(text)):
            if not re.search(r"### .*`%s`" % re.escape(name), have):
                print("%s: no entry for %s()" % (OUTPUT, name),
                      file=sys.stderr)
                bad += 1
        if have != doc:
            print("docs/API.md is out of date with include/strata.h: run "
                  "scripts/gen_api_doc.py", file=sys.stderr)
            bad += 1
        print("%d functions of strata.h checked, %d problems"
              % (len(header_functions(text)), bad))
        return 1 if bad else 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
