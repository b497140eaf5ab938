"""The report: the JSON contract served to programs and the data behind every human-readable view.

Field names here are a published contract; add fields freely, never rename.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown"]
Severity = Literal["critical", "high", "medium", "low", "info", "positive"]


class EvidenceOut(BaseModel):
    url: str
    snippet: str


class LinkOut(BaseModel):
    label: str
    url: str


class FindingOut(BaseModel):
    id: str
    check: str
    category: str
    outcome: str
    severity: Severity
    points: int
    counted_points: int = Field(description="Points this finding actually moved after caps and the bonus rule.")
    determined: bool = True
    title: str
    explanation: str
    advice: str
    evidence: list[EvidenceOut] = []
    verification_links: list[LinkOut] = []


class CategoryOut(BaseModel):
    id: str
    title: str
    score: int | None
    weight: float
    points: int
    findings: int


class PageOut(BaseModel):
    url: str
    final_url: str = ""
    status: int | None
    bytes: int
    elapsed_ms: int
    https: bool = False
    tls_valid: bool | None = None
    truncated: bool = False
    kind: str = "start"
    error: str | None
    encoding_note: str | None = None
    # The language the page was read in (ISO 639-1), when it could be told.
    language: str | None = None


class ErrorOut(BaseModel):
    code: str
    url: str
    message: str


class AdviceOut(BaseModel):
    id: str
    text: str


class Report(BaseModel):
    url: str
    final_url: str
    checked_at: str
    algorithm_version: str
    verdict: Verdict
    score: int | None
    grade: str | None
    summary: str
    verdict_rule: str = Field("", description="Which verdict rule decided (README, 'How the score is built').")
    verdict_reason: str = Field("", description="Why this verdict, in one plain sentence.")
    coverage: float = Field(description="Share of the weighted categories with at least one determined finding.")
    categories: list[CategoryOut]
    findings: list[FindingOut]
    advice: list[AdviceOut] = []
    pages: list[PageOut]
    redirects: list[str]
    errors: list[ErrorOut]
    from_archive: bool = False
    elapsed_ms: int = 0


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
