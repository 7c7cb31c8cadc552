"""A custom import-linter contract: no import circles between modules (files).

``acyclic_siblings`` (import-linter's own) forbids circles between *packages* seen as a whole;
it holds for every app but ``recommend``, whose serving, experiments and selectors depend on
each other by design (serving assigns experiment variants; experiments read serving's cache),
without any module importing a module that imports it back. This contract checks the rule the
architecture states for every package: no file imports, directly or through others, a file that
imports it. Function-local imports count like any other (grimp sees them), so an import moved
into a function to dodge a circle does not pass either. ``TYPE_CHECKING`` imports are left out.
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def module_cycles(graph: grimp.ImportGraph, roots: list[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] in roots)
    inside = set(modules)
    edges = {
        m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x in inside)
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in modules:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = edges[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


class NoModuleCyclesContract(Contract):
    """``type = no_module_cycles``; ``root_packages``: the packages whose modules are checked."""

    type_name = "no_module_cycles"

    root_packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = module_cycles(graph, list(self.root_packages))  # type: ignore[arg-type]
        chains = []
        for cycle in cycles:
            first = cycle[0]
            back = next(
                (m for m in cycle[1:] if graph.find_shortest_chain(m, first)),
                cycle[1],
            )
            chains.append(
                (graph.find_shortest_chain(first, back), graph.find_shortest_chain(back, first))
            )
        return ContractCheck(kept=not cycles, warnings=None, metadata={"chains": chains})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for there, back in check.metadata["chains"]:
            output.print_error(" -> ".join(there or ()), bold=False)
            output.print_error(" -> ".join(back or ()), bold=False)
            output.new_line()
