#!/usr/bin/env python3
"""Fails when the top-level modules of a Rust crate depend on each other in a cycle.

Usage: scripts/module-cycles.py CRATE_SRC_DIR   (e.g. contracts/src)

A crate's modules should form layers: a module may use the ones below it, never one that uses
it back. This script reads every `.rs` file under CRATE_SRC_DIR, blanks out comments (so doc
links do not count), string and character literals, and collects every `crate::...` path in
the code, including `use crate::{a, b::c}` groups. Each path is an edge from the file's
top-level module (`ops/governance.rs` belongs to `ops`) to the first module the path names. A
path to an item of the crate root (`crate::NAME`) counts as an edge to the module that
`lib.rs` (or `main.rs`) re-exports NAME from; an item the root defines itself is no module
and gives no edge. Edges inside one top-level module are ignored.

Exits 0 when the module graph has no cycle; otherwise prints each cycle, with the file and line
of every use along it, and exits 1. Exits 2 on bad usage.

Limits: `super::` and `self::` paths are not followed (in a submodule they stay inside its
top-level module); macros that build paths are not expanded. Python 3 standard library only.
"""

import os
import re
import sys

ROOT = "crate root"


def strip_comments_and_literals(text):
    """The code of `text` with comments, strings and character literals replaced by spaces.

    Newlines are kept, so line numbers still match the file.
    """
    out = []
    i = 0
    n = len(text)

    def blank(segment):
        return "".join("\n" if c == "\n" else " " for c in segment)

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = text.find("\n", i)
            end = n if end == -1 else end
            out.append(blank(text[i:end]))
            i = end
        elif c == "/" and nxt == "*":
            # Rust block comments nest.
            depth = 0
            j = i
            while j < n:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                    if depth == 0:
                        break
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (c == "r" or (c == "b" and nxt == "r")) and re.match(
            r'b?r#*"', text[i:]
        ) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            # Raw string: r"..." or r#"..."# (also br).
            opening = re.match(r'b?r(#*)"', text[i:])
            hashes = opening.group(1)
            start = i + opening.end()
            close = text.find('"' + hashes, start)
            end = n if close == -1 else close + 1 + len(hashes)
            out.append(blank(text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A character literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former closes.
            if nxt == "\\":
                close = text.find("'", i + 2)
                end = n if close == -1 else close + 1
                out.append(blank(text[i:end]))
                i = end
            elif i + 2 < n and text[i + 2] == "'":
                out.append(blank(text[i : i + 3]))
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def top_level_modules(src_dir):
    """Names of the crate's top-level modules: `x.rs` and `x/` next to the crate root."""
    modules = set()
    for entry in os.listdir(src_dir):
        path = os.path.join(src_dir, entry)
        if entry.endswith(".rs") and entry not in ("lib.rs", "main.rs"):
            modules.add(entry[: -len(".rs")])
        elif os.path.isdir(path) and entry != "bin":
            modules.add(entry)
    return modules


def module_of(src_dir, path):
    """The top-level module a file belongs to (ROOT for lib.rs / main.rs)."""
    relative = os.path.relpath(path, src_dir)
    first = relative.split(os.sep)[0]
    if first in ("lib.rs", "main.rs"):
        return ROOT
    return first[: -len(".rs")] if first.endswith(".rs") else first


def matching_brace(code, start):
    """Index of the `}` closing the `{` at `start`."""
    depth = 0
    for j in range(start, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code)


def group_heads(group):
    """First segments of the paths in a `{a, b::c, d::{e, f}}` group (without the braces)."""
    heads = []
    depth = 0
    item = []
    for ch in group + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            text = "".join(item).strip()
            match = re.match(r"[A-Za-z_]\w*", text)
            if match:
                heads.append(match.group(0))
            item = []
        else:
            item.append(ch)
    return heads


CRATE_PATH = re.compile(r"(?<![\w$])crate\s*::\s*(\{|[A-Za-z_]\w*)")


def crate_paths(code):
    """(line, first segment, excerpt) of every `crate::` path in blanked `code`."""
    found = []
    for match in CRATE_PATH.finditer(code):
        line = code.count("\n", 0, match.start()) + 1
        if match.group(1) == "{":
            close = matching_brace(code, match.start(1))
            group = code[match.start(1) + 1 : close]
            excerpt = " ".join(code[match.start() : close + 1].split())
            for head in group_heads(group):
                found.append((line, head, excerpt))
        else:
            path = re.match(r"crate(\s*::\s*\w+)*(\s*::\s*\{)?", code[match.start() :])
            end = match.start() + path.end()
            if path.group(2):
                end = matching_brace(code, end - 1) + 1
            excerpt = " ".join(code[match.start() : end].split())
            found.append((line, match.group(1), excerpt))
    return found


ROOT_ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+)*"
    r"(?:fn|struct|enum|trait|type|const|static|union|mod|macro_rules!)\s+([A-Za-z_]\w*)",
    re.MULTILINE,
)


def root_items(code):
    """Names of the items the crate root defines itself (not re-exports)."""
    return set(ROOT_ITEM.findall(code))


def root_reexports(code, modules):
    """NAME -> module for each `use MODULE::...` (or `use crate::MODULE::...`) in the crate root."""
    exports = {}
    for statement in re.finditer(r"\buse\s+([^;]*);", code):
        path = statement.group(1)
        path = re.sub(r"^(crate|self)\s*::\s*", "", path.strip())
        head = re.match(r"[A-Za-z_]\w*", path)
        if not head or head.group(0) not in modules:
            continue
        rest = path[head.end() :]
        # `a as b` exports b; otherwise every name in the rest of the path may be the one used.
        for name in re.findall(r"[A-Za-z_]\w*", re.sub(r"\w+\s+as\s+", "", rest)):
            if name not in ("self", "super", "crate", "as"):
                exports.setdefault(name, head.group(0))
    return exports


def strongly_connected(graph):
    """Tarjan's strongly connected components of `graph` (node -> set of nodes)."""
    index = {}
    low = {}
    on_stack = set()
    stack = []
    components = []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def shortest_path(graph, start, goal, members):
    """A shortest path start -> ... -> goal inside `members` (breadth-first), or None."""
    previous = {start: None}
    queue = [start]
    for node in queue:
        if node == goal:
            path = [node]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])
            return list(reversed(path))
        for target in sorted(graph.get(node, ())):
            if target in members and target not in previous:
                previous[target] = node
                queue.append(target)
    return None


def cycles_in(graph, members):
    """For each edge inside a strongly connected group, the shortest cycle through it."""
    cycles = []
    seen = set()
    for source in members:
        for target in sorted(graph[source] & members):
            back = shortest_path(graph, target, source, members)
            cycle = [source] + back
            ring = cycle[:-1]
            turn = ring.index(min(ring))
            key = tuple(ring[turn:] + ring[:turn])
            if key not in seen:
                seen.add(key)
                cycles.append(list(key) + [key[0]])
    return cycles


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src_dir = argv[1]
    modules = top_level_modules(src_dir)
    files = []
    for directory, _, names in os.walk(src_dir):
        files.extend(os.path.join(directory, name) for name in names if name.endswith(".rs"))
    files.sort()

    code_of = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            code_of[path] = strip_comments_and_literals(handle.read())
    exports = {}
    own_items = set()
    for root_file in ("lib.rs", "main.rs"):
        path = os.path.join(src_dir, root_file)
        if path in code_of:
            exports.update(root_reexports(code_of[path], modules))
            own_items |= root_items(code_of[path])

    graph = {module: set() for module in modules}
    uses = {}  # (from, to) -> [(file, line, excerpt)]
    unresolved = []
    for path in files:
        source = module_of(src_dir, path)
        if source == ROOT:
            continue  # The root declares and re-exports modules; it is no layer of its own.
        for line, head, excerpt in crate_paths(code_of[path]):
            target = head if head in modules else exports.get(head)
            if target is None and head in own_items:
                continue  # An item the root defines: no module of its own.
            if target is None:
                unresolved.append(f"{os.path.relpath(path, src_dir)}:{line}: {excerpt}")
                continue
            if target == source:
                continue
            graph[source].add(target)
            uses.setdefault((source, target), []).append(
                (os.path.relpath(path, src_dir), line, excerpt)
            )

    for entry in unresolved:
        print(f"module-cycles: note: cannot tell which module {entry} names", file=sys.stderr)

    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    if not cycles:
        print(f"module-cycles: {src_dir}: {len(modules)} top-level modules, no cycle")
        return 0
    print(f"module-cycles: {src_dir}: {len(cycles)} group(s) of modules in a cycle", file=sys.stderr)
    for members in cycles:
        print(f"\ncycle among {{{', '.join(members)}}}:", file=sys.stderr)
        for cycle in cycles_in(graph, set(members)):
            print(f"  {' -> '.join(cycle)}", file=sys.stderr)
        print("  through:", file=sys.stderr)
        for source in members:
            for target in sorted(graph[source] & set(members)):
                for file, line, excerpt in uses[(source, target)]:
                    print(f"    {source} -> {target}: {file}:{line}: {excerpt}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
