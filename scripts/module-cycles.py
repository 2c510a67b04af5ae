#!/usr/bin/env python3
"""Find import cycles between the modules of a Rust crate.

    scripts/module-cycles.py CRATE_SRC_DIR [CRATE_SRC_DIR ...]

For each crate root in CRATE_SRC_DIR (`lib.rs`, `main.rs`), builds the module tree (`mod x;` files and
inline `mod x { … }` blocks) and the graph of references between modules: `use` declarations and paths in
code that start with `crate::`, `super::`, `self::`, a child module's name or an imported name. A path is
followed through the modules and re-exports (`pub use`, globs) it names, so a reference lands on the module
that defines the item; `use crate::Foo` with `pub use config::Foo` in lib.rs is an edge to `config`, not to
the crate root. Declaring a child (`mod x;`) is not an edge. Every cycle (every strongly connected group of
two or more modules) is printed with one reference per edge; the exit status is 1 if there is one, else 0.

What it does not see: dependencies that are not written as a path (a method called on a field whose type
comes from another module), macros other than `macro_rules!` bodies, `#[cfg]` (every branch counts), and
names an item definition scan misses. It reads text with comments and literals removed; no rustc needed.
Python 3.11, standard library only.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

IDENT = r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*"
PATH_START = {"crate", "$crate", "self", "super"}


# ----- reading: comments and literals out, positions kept -----


def clean(src: str) -> str:
    """`src` with comments, string and char literals replaced by spaces (newlines kept)."""
    out = list(src)
    n = len(src)
    i = 0

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    def ident_char(c: str) -> bool:
        return c.isalnum() or c == "_"

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "rbc" and (i == 0 or not ident_char(src[i - 1])) and (
            m := re.match(r"(?:br|cr|r)(#*)\"", src[i:])
        ):
            hashes = m.group(1)
            end = src.find('"' + hashes, i + m.end())
            j = n if end < 0 else end + 1 + len(hashes)
            blank(i, j)
            i = j
        elif c == '"' or (
            c in "bc" and src.startswith('"', i + 1) and (i == 0 or not ident_char(src[i - 1]))
        ):
            j = i + (1 if c == '"' else 2)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        elif c == "'" or (c == "b" and src.startswith("'", i + 1) and (i == 0 or not ident_char(src[i - 1]))):
            q = i if c == "'" else i + 1
            if src.startswith("\\", q + 1):
                j = src.find("'", q + 2)
                j = n if j < 0 else j
                blank(i, j + 1)
                i = j + 1
            elif q + 2 < n and src[q + 2] == "'":
                blank(i, q + 3)
                i = q + 3
            else:  # a lifetime or label
                i = q + 1
        else:
            i += 1
    return "".join(out)


def matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(text)


# ----- the module tree -----


@dataclass
class Use:
    segments: list[str]
    name: str | None  # the local name (None for `as _` and globs)
    glob: bool
    at: int  # offset in the file
    public: bool = False  # `pub use` / `pub(crate) use`: a re-export


@dataclass
class Module:
    path: tuple[str, ...]
    file: Path
    text: str  # the whole cleaned file
    spans: list[tuple[int, int]]  # the parts of `text` that are this module's own code
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)
    paths: list[tuple[list[str], int]] = field(default_factory=list)
    words: set[str] = field(default_factory=set)  # every identifier in the code outside `use` items

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def aliases(self) -> dict[str, Use]:
        return {u.name: u for u in self.uses if u.name}

    def globs(self) -> list[Use]:
        return [u for u in self.uses if u.glob]


class Crate:
    def __init__(self, root_file: Path):
        self.modules: dict[tuple[str, ...], Module] = {}
        self.root_file = root_file
        self._load_file(root_file, (), root_file.parent)

    # Files: `mod x;` in `a/lib.rs`, `a/mod.rs`, `a/main.rs` is `a/x.rs` or `a/x/mod.rs`; in `a/b.rs` it is
    # `a/b/x.rs` or `a/b/x/mod.rs`.
    def _load_file(self, file: Path, path: tuple[str, ...], child_dir: Path) -> None:
        raw = file.read_text(encoding="utf-8")
        text = clean(raw)
        path_attrs = {
            m.group(2): m.group(1)
            for m in re.finditer(
                r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(' + IDENT + r")\s*;", raw
            )
        }
        self._load_region(file, text, path, 0, len(text), child_dir, path_attrs)

    def _load_region(self, file, text, path, start, end, child_dir, path_attrs) -> None:
        module = Module(path=path, file=file, text=text, spans=[])
        self.modules[path] = module
        pos = start
        decl = re.compile(r"\bmod\s+(" + IDENT + r")\s*([{;])")
        while True:
            m = decl.search(text, pos, end)
            if not m:
                module.spans.append((pos, end))
                break
            name = m.group(1).removeprefix("r#")
            child = path + (name,)
            module.children[name] = child
            if m.group(2) == "{":
                close = matching_brace(text, m.end() - 1)
                module.spans.append((pos, m.start()))
                self._load_region(file, text, child, m.end(), close, child_dir / name, path_attrs)
                pos = close + 1
            else:
                module.spans.append((pos, m.start()))
                pos = m.end()
                if name in path_attrs:
                    target = (file.parent / path_attrs[name]).resolve()
                    candidates = [target]
                    grandchildren = target.parent
                else:
                    candidates = [child_dir / f"{name}.rs", child_dir / name / "mod.rs"]
                    grandchildren = child_dir / name
                found = next((c for c in candidates if c.is_file()), None)
                if found is None:
                    print(f"warning: {file}: no file for `mod {name};`", file=sys.stderr)
                    continue
                self._load_file(found, child, grandchildren)
        self._scan(module)

    def _scan(self, module: Module) -> None:
        text = module.text
        for a, b in module.spans:
            chunk = text[a:b]
            # `use` trees first, then blank them so their paths are not read twice.
            masked = list(chunk)
            for m in re.finditer(r"\b(pub(?:\s*\([^)]*\))?\s+)?use\s+", chunk):
                stop = chunk.find(";", m.end())
                stop = len(chunk) if stop < 0 else stop
                for u in parse_use_tree(chunk[m.end() : stop]):
                    u.at = a + m.start()
                    u.public = m.group(1) is not None
                    module.uses.append(u)
                for k in range(m.start(), stop):
                    if masked[k] != "\n":
                        masked[k] = " "
            body = "".join(masked)
            module.words.update(w.removeprefix("r#") for w in re.findall(IDENT, body))
            for m in re.finditer(
                r"\b(?:fn|struct|enum|union|trait|type|const|static|macro_rules!)\s+(" + IDENT + r")", body
            ):
                module.defined.add(m.group(1).removeprefix("r#"))
            for m in re.finditer(
                r"(?<![\w:$])(\$crate|" + IDENT + r")((?:\s*::\s*" + IDENT + r")+)", body
            ):
                segs = [m.group(1)] + [s.strip() for s in m.group(2).split("::")[1:]]
                module.paths.append(([s.removeprefix("r#") for s in segs], a + m.start()))


def parse_use_tree(body: str) -> list[Use]:
    tokens = re.findall(r"::|\{|\}|,|\*|\$?" + IDENT, body)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def tree(prefix: list[str]) -> list[Use]:
        segs = list(prefix)
        while True:
            tok = peek()
            if tok is None:
                return []
            if tok == "{":
                take()
                found: list[Use] = []
                while peek() not in (None, "}"):
                    found += tree(segs)
                    if peek() == ",":
                        take()
                take()
                return found
            if tok == "*":
                take()
                return [Use(segs, None, True, 0)]
            if tok == "::":
                take()
                if not segs:
                    segs.append("::")  # `use ::name`: an extern crate
                continue
            take()
            segs.append(tok.removeprefix("r#"))
            if peek() == "::":
                continue
            name = segs[-1]
            if name == "self":
                segs = segs[:-1]
                name = segs[-1] if segs else None
            if peek() == "as":
                take()
                alias = take() if peek() is not None else "_"
                name = None if alias == "_" else alias.removeprefix("r#")
            return [Use(segs, name, False, 0)]

    uses: list[Use] = []
    while peek() is not None:
        uses += tree([])
        if peek() == ",":
            take()
        elif peek() is not None:
            take()
    return uses


# ----- resolving a path to the module that defines what it names -----


class Resolver:
    def __init__(self, crate: Crate):
        self.crate = crate
        self.aliases = {p: m.aliases() for p, m in crate.modules.items()}

    def resolve(self, at: tuple[str, ...], segs: list[str], seen=None):
        """('mod', path) when the path names a module, ('item', path) for an item of module `path`, or
        None for something outside the crate."""
        seen = set() if seen is None else seen
        mods = self.crate.modules
        if not segs or segs[0] == "::":
            return None
        first, rest = segs[0], segs[1:]
        if first in ("crate", "$crate"):
            cur = ()
        elif first == "self":
            cur = at
        elif first == "super":
            cur = at[:-1]
            while rest and rest[0] == "super":
                cur, rest = cur[:-1], rest[1:]
        else:
            found = self.lookup(at, first, seen, relative=True)
            if found is None:
                return None
            kind, cur = found
            if kind == "item":
                return found
        for name in rest:
            if name == "self":
                continue
            found = self.lookup(cur, name, seen, relative=False)
            if found is None:
                return ("item", cur)
            kind, cur = found
            if kind == "item":
                return found
        return ("mod", cur) if cur in mods else None

    def lookup(self, module: tuple[str, ...], name: str, seen, relative: bool):
        mod = self.crate.modules.get(module)
        if mod is None:
            return None
        if name in mod.children:
            return ("mod", mod.children[name])
        if name in mod.defined:
            return ("item", module)
        key = (module, name)
        if key in seen:
            return None
        alias = self.aliases[module].get(name)
        if alias is not None:
            return self.resolve(module, alias.segments, seen | {key})
        for g in mod.globs():
            target = self.resolve(module, g.segments, seen | {key})
            if target and target[0] == "mod" and target[1] != module:
                # By the same rule as here: a path's first name that the glob's module does not have
                # either is outside the crate (`use std::…` beside a `use super::*`), not its item.
                hit = self.lookup(target[1], name, seen | {key}, relative=relative)
                if hit is not None:
                    return hit
        # A name nothing here defines: outside the crate when it starts a path (`std::…`, `axum::…`),
        # else something of this module the definition scan missed.
        return None if relative else ("item", module)


def edges_of(crate: Crate) -> dict[tuple, dict[tuple, str]]:
    r = Resolver(crate)
    edges: dict[tuple, dict[tuple, str]] = {p: {} for p in crate.modules}

    def add(src: Module, target, at: int, what: str) -> None:
        if target is None:
            return
        dst = target[1]
        if dst == src.path or dst not in crate.modules:
            return
        where = f"{rel(src.file)}:{src.line_of(at)}: {what}"
        edges[src.path].setdefault(dst, where)

    for m in crate.modules.values():
        for u in m.uses:
            target = r.resolve(m.path, u.segments)
            shown = "use " + "::".join(u.segments) + ("::*" if u.glob else "")
            # An imported module is a dependency where it is used (`routes::home::show`), not where it is
            # imported; an imported item or a glob is one here. A re-export (`pub use child::Item`) only
            # names the item for others, so it is an edge only if this module's own code uses the name too.
            if u.public and (u.glob or u.name not in m.words):
                continue
            if target and (target[0] == "item" or u.glob):
                add(m, target, u.at, shown)
        for segs, at in m.paths:
            add(m, r.resolve(m.path, segs), at, "::".join(segs))
    return edges


# ----- cycles -----


def strongly_connected(nodes, edges):
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            groups.append(group)

    sys.setrecursionlimit(max(10_000, 4 * len(nodes)))
    for v in nodes:
        if v not in index:
            visit(v)
    return groups


def shortest_cycle(start, group, edges):
    members = set(group)
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in edges[v]:
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def name(path: tuple[str, ...]) -> str:
    return "::".join(("crate",) + path)


def rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def check(root_file: Path) -> int:
    crate = Crate(root_file)
    edges = edges_of(crate)
    groups = [sorted(g) for g in strongly_connected(sorted(crate.modules), edges) if len(g) > 1]
    n_edges = sum(len(e) for e in edges.values())
    if not groups:
        print(f"{rel(root_file)}: no import cycles ({len(crate.modules)} modules, {n_edges} edges)")
        return 0
    print(f"{rel(root_file)}: {len(groups)} import cycle(s) ({len(crate.modules)} modules, {n_edges} edges)")
    for g in groups:
        print(f"  cycle among {len(g)} modules: {', '.join(name(p) for p in g)}")
        cycle = shortest_cycle(g[0], g, edges)
        for a, b in zip(cycle, cycle[1:]):
            print(f"    {name(a)} -> {name(b)}    ({edges[a][b]})")
    return 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    status = 0
    for arg in argv[1:]:
        src = Path(arg)
        roots = [src / r for r in ("lib.rs", "main.rs") if (src / r).is_file()]
        if not roots:
            print(f"{arg}: no lib.rs or main.rs here", file=sys.stderr)
            return 2
        for root in roots:
            status = max(status, check(root))
    return status


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:  # `… | head`
        sys.exit(1)
