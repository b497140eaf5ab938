"""Plain-text rendering of a report for the terminal: verdict first, then findings with their evidence."""

from __future__ import annotations

import textwrap

from .report import Report

VERDICT_LABELS = {
    "likely_legitimate": "LIKELY LEGITIMATE",
    "caution": "CAUTION",
    "likely_rogue": "LIKELY ROGUE",
    "not_a_pharmacy": "NOT A PHARMACY",
    "unknown": "UNKNOWN",
}

RENDERING_NOTES = {
    "rendered": "Some pages build themselves with JavaScript: they were read as a browser showed them.",
    "unavailable": "No browser on this machine: pages were read as the server sent them (scripts not run).",
    "off": "Rendering is off: pages were read as the server sent them (scripts not run).",
}

SEVERITY_MARKS = {"critical": "!!", "high": "! ", "medium": "- ", "low": "- ", "info": "  ", "positive": "+ "}


def render_text(report: Report) -> str:
    lines = []
    score = f"{report.score}/100 (grade {report.grade})" if report.score is not None else "no score"
    lines.append(f"{VERDICT_LABELS[report.verdict]}  {score}  {report.final_url}")
    lines.append(textwrap.fill(report.summary, 100))
    if report.verdict_reason:
        lines.append(textwrap.fill("Why: " + report.verdict_reason, 100))
    lines.append(f"Coverage {int(report.coverage * 100)}% of the checked areas · algorithm {report.algorithm_version}")
    if report.from_archive:
        lines.append("Replayed from an archive: the pages as they were recorded, not as the site is today.")
    if report.rendering in RENDERING_NOTES:
        lines.append(RENDERING_NOTES[report.rendering])
    lines.append("")
    for cat in report.categories:
        value = "—" if cat.score is None else str(cat.score)
        lines.append(f"  {cat.title:<24} {value:>4}")
    lines.append("")
    for f in report.findings:
        if not f.determined and f.severity == "info":
            continue
        pts = f"{f.counted_points:+d}" if f.points else "  0"
        lines.append(f"{SEVERITY_MARKS[f.severity]}[{f.severity}] {f.title} ({pts})  {f.id}")
        lines.append(textwrap.indent(textwrap.fill(f.explanation, 96), "     "))
        for e in f.evidence[:3]:
            lines.append(f"     seen on {e.url}")
            lines.append(f"       “{e.snippet}”")
        for link in f.verification_links:
            lines.append(f"     verify: {link.label}: {link.url}")
        if f.advice:
            lines.append(textwrap.indent(textwrap.fill("What to do: " + f.advice, 96), "     "))
    if report.second_opinion:
        so = report.second_opinion
        lines.append("")
        lines.append(f"Second opinion (learned model {so.model}): {100 * so.probability:.0f}% chance of a rogue seller")
        lines.append(textwrap.indent(textwrap.fill(so.note, 96), "  "))
        for heading, features in (("more suspicious", so.towards_rogue), ("less suspicious", so.towards_legitimate)):
            if features:
                lines.append(textwrap.fill(f"  {heading}: " + "; ".join(f.label for f in features), 100,
                                           subsequent_indent="    "))
    if report.advice:
        lines.append("")
        lines.append("Advice")
        for a in report.advice:
            lines.append("  • " + textwrap.fill(a.text, 94, subsequent_indent="    "))
    lines.append("")
    lines.append("Pages read")
    for p in report.pages:
        state = p.error or f"HTTP {p.status}" + (" rendered" if p.rendered else "") + (f" cut:{p.truncated_by}" if p.truncated else "")
        lines.append(f"  {p.kind:<12} {state:<16} {p.url}")
    if report.refused_requests:
        lines.append(f"Refused requests of rendered pages ({len(report.refused_requests)} listed)")
        for r in report.refused_requests[:10]:
            lines.append(f"  {r.code:<20} {r.url}")
    if report.redirects:
        lines.append("Redirects: " + " -> ".join(report.redirects + [report.final_url]))
    return "\n".join(lines)
