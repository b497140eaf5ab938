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
    truncated_by: str | None = Field(
        None, description="Why only part of the page was read: size (a cap), timeout (it stalled or dripped past "
        "the page's deadline) or incomplete (the connection ended early); what arrived was analysed.")
    kind: str = "start"
    error: str | None
    encoding_note: str | None = None
    rendered: bool = Field(False, description="Read from the page as a browser built it, after its scripts ran.")
    # The language the page was read in (ISO 639-1), when it could be told.
    language: str | None = None


class ErrorOut(BaseModel):
    code: str
    url: str
    message: str


class RefusedRequestOut(BaseModel):
    url: str
    code: str = Field(description="Why it was refused: a fetch error code (blocked_destination, invalid_url, ...), "
                      "method_not_allowed (the browser tried to send data), not_fetched, request_cap, byte_cap or "
                      "direct_connection (a connection the browser tried to open by itself).")
    page: str = Field(description="The rendered page that made the request.")


class ScreenshotOut(BaseModel):
    sha256: str
    media_type: str
    width: int
    height: int


class AdviceOut(BaseModel):
    id: str
    text: str


class ModelFeatureOut(BaseModel):
    part: Literal["text", "links", "domain"]
    term: str
    label: str = Field(description="How the feature reads: a word or phrase of the pages, of link text, a piece of the address.")
    weight: float = Field(description="How far it moved the model's raw score: above 0 towards rogue, below 0 towards legitimate.")


class SecondOpinionOut(BaseModel):
    model: str = Field(description="Id of the model file that gave this opinion (also the end of algorithm_version).")
    probability: float = Field(description="Calibrated probability that the site is a rogue seller (docs/accuracy.md).")
    applied: bool = Field(description="Whether it changed the verdict (it can only make a verdict more careful).")
    verdict_before: Verdict | None = Field(None, description="The rules' verdict, when the second opinion changed it.")
    note: str = Field(description="What the second opinion did, or why it did not change the verdict.")
    towards_rogue: list[ModelFeatureOut] = []
    towards_legitimate: list[ModelFeatureOut] = []


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
    second_opinion: SecondOpinionOut | None = Field(
        None, description="The learned second opinion: never decides alone, never towards likely_legitimate.")
    rendering: str = Field("", description="Whether pages were run in a browser: rendered (at least one page), "
                           "not_needed (none looked built by JavaScript), off (turned off), unavailable (no browser "
                           "on the machine that checked).")
    refused_requests: list[RefusedRequestOut] = Field(
        [], description="Requests a rendered page made that pharmacheck refused (at most 50 per page).")
    screenshot: ScreenshotOut | None = Field(
        None, description="A small picture of the start page; the image is at /screenshots/{sha256}.jpg.")


class ErrorDetail(BaseModel):
    field: str = Field(description="The field as the request names it: `url`, `urls[2]`, `url (query parameter)`, `request body`.")
    location: str = Field(description="Where the field is: body, query, path or header.")
    message: str = Field(description="What was wrong and what was expected, in one sentence.")


class ErrorBody(BaseModel):
    code: str = Field(description="A stable identifier of the error (the table in /docs and the README).")
    message: str = Field(description="What went wrong and what to do, in plain words.")
    details: list[ErrorDetail] | None = Field(None, description="For invalid_request: one entry per field that was wrong.")


class ErrorResponse(BaseModel):
    """Every error the API answers with."""

    error: ErrorBody
