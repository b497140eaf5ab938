"""Which kind of evidence catches a rogue site: the reputation lists, the identity graph, or the site's own pages.

A report's findings are judged again on subsets of themselves, with the same scoring rules:
- list: a rogue-list finding is in the report (it forces the verdict on its own);
- page: the findings from the site's own pages and address alone (no list, no graph) give `likely_rogue`;
- graph: the page findings plus the graph's give `likely_rogue` where the page findings alone do not.
A site can count under list and page both; graph counts only what the graph added.
"""

from __future__ import annotations

from .report import Report
from .rules import Rules
from .scoring import score_findings

LIST_CHECKS = ("lists", "known_sites")
GRAPH_CHECKS = ("graph",)
LIST_ROGUE = ("lists.listed-rogue", "known_sites.listed-rogue")


def _verdict(rules: Rules, report: Report, findings) -> str:
    fetched = any(p.error is None for p in report.pages)
    return score_findings(rules, [f.model_copy() for f in findings], fetched_anything=fetched).verdict


def caught_by(report: Report, rules: Rules) -> set[str]:
    kinds: set[str] = set()
    if any(f.id in LIST_ROGUE for f in report.findings):
        kinds.add("list")
    page = [f for f in report.findings if f.check not in LIST_CHECKS + GRAPH_CHECKS]
    with_graph = [f for f in report.findings if f.check not in LIST_CHECKS]
    page_rogue = _verdict(rules, report, page) == "likely_rogue"
    if page_rogue:
        kinds.add("page")
    elif len(with_graph) > len(page) and _verdict(rules, report, with_graph) == "likely_rogue":
        kinds.add("graph")
    return kinds
