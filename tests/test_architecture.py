"""Layering rules from DESIGN.md: the core never imports Qt, heavy imports are lazy,
the run path never pulls timm/torchvision, imports point one way (docs/ARCHITECTURE.md)
and no two modules import each other, directly or round a loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires_kit

CORE = ["trufor_desk", "trufor_desk.cli", "trufor_desk.evidence", "trufor_desk.engines.base",
        "trufor_desk.engines.trufor.engine", "trufor_desk.engines.trufor.model",
        "trufor_desk.engines.trufor.weights", "trufor_desk.cli.weights", "trufor_desk.hashing",
        "trufor_desk.case", "trufor_desk.report", "trufor_desk.cli.report", "trufor_desk.cli.case",
        "trufor_desk.render.layers", "trufor_desk.render.verdict_colours", "trufor_desk.verdict",
        "trufor_desk.verdict.decision", "trufor_desk.verdict.map_measures", "trufor_desk.verdict.verbal_scale",
        "trufor_desk.verdict.reading", "trufor_desk.evidence.metadata", "trufor_desk.evaluation.metrics",
        "trufor_desk.batch",
        "trufor_desk.cli.batch", "trufor_desk.batch.results", "trufor_desk.cli.evaluate",
        "trufor_desk.cli.analyze", "trufor_desk.cli.args", "trufor_desk.cli.progress",
        "trufor_desk.evaluation.dataset", "trufor_desk.view", "trufor_desk.view.state",
        "trufor_desk.view.document", "trufor_desk.view.events"]


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_core_never_imports_qt():
    out = _run("import sys\n" + "\n".join(f"import {m}" for m in CORE) +
               "\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6','PyQt5','PyQt6','pyqtgraph')))")
    assert out.strip() == "[]"


def test_cli_parser_does_not_import_torch():
    out = _run("import sys, trufor_desk.cli.entry as c\nc._build_parser()\nprint('torch' in sys.modules)")
    assert out.strip() == "False"


@requires_kit
def test_analysis_does_not_import_timm_or_torchvision(synth_weights, tmp_path):
    code = ("import sys\nfrom trufor_desk.cli import main\n"
            f"rc = main(['analyze', {str(tmp_path / 'x.png')!r}, '--weights', {str(synth_weights)!r}, "
            f"'--device', 'cpu', '--out', {str(tmp_path)!r}])\n"
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('timm', 'torchvision')))")
    from PIL import Image

    from tests.conftest import natural_image

    Image.fromarray(natural_image(40, 40)).save(tmp_path / "x.png")
    assert _run(code).strip().splitlines()[-1] == "0 []"


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import(module):
    __import__(module)


# -- the import graph ----------------------------------------------------------------------
# Read from the source with ``ast`` (nothing is imported), so a cycle or a wrong-way import
# hidden in a function body (a lazy import) counts as much as one at the top of a file.

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "trufor_desk"

# The dependency rule (DESIGN.md, docs/ARCHITECTURE.md), top to bottom: a module may import
# modules of its own group and of any group in a lower layer, never one above, and never a
# sibling group of its own layer unless SIDEWAYS names the pair with its reason.  Groups are the
# first name below trufor_desk (``__main__`` belongs to the cli, ``__init__`` is the package's own
# ``__init__.py``, which holds ``__version__``).
LAYERS: list[set[str]] = [
    {"gui", "cli"},                              # entry points
    {"view"},                                    # what the window shows: documents, view state, their events
    {"report", "batch", "case", "compare"},      # workflows over the core
    {"verdict"},                                 # the decision on an analysis result, and its reading
    {"engines", "evaluation"},                   # detectors, and their scoring on datasets
    {"evidence", "render"},                      # opening images; colour maps, overlay layers, drawing colours
    {"atomic", "hashing", "npz", "resources"},   # flat helpers (the bottom layer of DESIGN.md)
    {"errors", "__init__"},                      # exception types and __version__, used everywhere
]
SIDEWAYS: dict[tuple[str, str], str] = {
    ("cli", "gui"): "without a command `trufor-desk` opens the window; cli.entry imports gui.app lazily, "
                    "inside main() (the gui never imports the cli)",
    ("report", "case"): "a report is the rendering of a case: report.dates reads the case model",
}


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """``module -> modules of the same package it imports``, from every ``import`` in the
    source (module level, functions, ``TYPE_CHECKING`` blocks alike).  ``from a import b`` is
    an edge to ``a.b`` when that is a module, else to ``a``; relative imports are resolved."""
    root = package_dir.parent
    files = {".".join(p.relative_to(root).with_suffix("").parts[:-1] if p.name == "__init__.py"
                      else p.relative_to(root).with_suffix("").parts): p
             for p in package_dir.rglob("*.py")}

    def known(name: str) -> str | None:  # the module itself, or the nearest package above it
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(filter(None, (known(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for a in node.names:
                    target = f"{source}.{a.name}" if f"{source}.{a.name}" in files else known(source)
                    if target:
                        edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, targets = work[-1]
            for w in targets:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    inside = set(cycle)
    edges = [f"{a} -> {b}" for a in cycle for b in sorted(graph[a] & inside)]
    return "cycle between " + ", ".join(cycle) + ": " + "; ".join(edges)


def _group(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return "cli" if parts[1] == "__main__" else parts[1]


def test_no_import_cycles():
    graph = import_graph(PACKAGE_DIR)
    assert "trufor_desk.cli.entry" in graph and graph["trufor_desk.batch.runner"]  # the graph was read
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (move what both sides need into a module both import):\n" + \
        "\n".join(_describe(c, graph) for c in cycles)


def test_imports_follow_the_dependency_rule():
    rank = {g: i for i, layer in enumerate(LAYERS) for g in layer}
    graph = import_graph(PACKAGE_DIR)
    unknown = sorted({_group(m) for m in graph} - set(rank))
    assert not unknown, f"new top-level modules {unknown}: give each a layer in LAYERS (and docs/ARCHITECTURE.md)"
    wrong = []
    for module, targets in sorted(graph.items()):
        a = _group(module)
        for target in sorted(targets):
            b = _group(target)
            if a == b or rank[b] > rank[a] or (a, b) in SIDEWAYS:
                continue
            why = "sideways" if rank[a] == rank[b] else "upwards"
            wrong.append(f"{module} -> {target} ({why}: {a} may not import {b})")
    assert not wrong, "imports against the dependency rule:\n" + "\n".join(wrong)


def test_sideways_exceptions_are_still_needed():
    graph = import_graph(PACKAGE_DIR)
    used = {(_group(m), _group(t)) for m, targets in graph.items() for t in targets}
    assert set(SIDEWAYS) <= used, f"no longer needed, remove: {sorted(set(SIDEWAYS) - used)}"


def test_the_verdict_is_a_decision_that_draws_nothing():
    """``verdict/`` decides and words; it never draws: no module of ``render`` (nor of any
    package but its own, the errors and the bottom helpers), no image or plotting library."""
    graph = import_graph(PACKAGE_DIR)
    verdict = [m for m in graph if _group(m) == "verdict"]
    assert "trufor_desk.verdict.decision" in verdict
    ours = sorted((m, t) for m in verdict for t in graph[m] if _group(t) not in ("verdict", "errors", "__init__"))
    assert not ours, f"the verdict imports beyond itself: {ours}"
    drawing = ("cv2", "PIL", "matplotlib", "pyqtgraph", "PySide6", "fpdf", "torch")
    found = []
    for path in (PACKAGE_DIR / "verdict").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in drawing]
    assert not found, f"the verdict imports a drawing or heavy library: {found}"


def test_gui_never_imports_cli():
    graph = import_graph(PACKAGE_DIR)
    assert not [(m, t) for m, ts in graph.items() for t in ts if _group(m) == "gui" and _group(t) == "cli"]


def test_import_graph_sees_lazy_relative_and_from_imports(tmp_path):
    """The checker itself: the two cycles this package once had, rebuilt in miniature (one of
    them through an import inside a function), are found, and an acyclic package is clean."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("from pkg.cli_report import run\nclass Bar: pass\n")
    (pkg / "cli_report.py").write_text("def run():\n    from pkg.cli import Bar\n    return Bar\n")
    (pkg / "sub" / "__init__.py").write_text("from .runner import go\n")
    (pkg / "sub" / "runner.py").write_text("def go():\n    from . import ray_backend\n")
    (pkg / "sub" / "ray_backend.py").write_text("from .runner import go\nfrom ..cli import Bar\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.ray_backend"] == {"pkg.sub.runner", "pkg.cli"}
    assert graph["pkg.sub"] == {"pkg.sub.runner"}
    assert import_cycles(graph) == [["pkg.cli", "pkg.cli_report"], ["pkg.sub.ray_backend", "pkg.sub.runner"]]
    (pkg / "cli_report.py").write_text("def run():\n    return 1\n")
    (pkg / "sub" / "ray_backend.py").write_text("X = 1\n")
    assert import_cycles(import_graph(pkg)) == []
