"""Every error code the API answers with: its status and what it means, in one table.

The table is the one source for the /docs page's error table, the descriptions and examples of error answers in
the OpenAPI document, and the README's list (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    status: int
    code: str
    meaning: str
    example: str  # an example message, as the API writes it


ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode(400, "invalid_url", "The address cannot be checked: not http(s), a user name in it, an unusual port, no dot in the name.",
              "Only http:// and https:// addresses can be checked."),
    ErrorCode(400, "blocked_destination", "The address leads to a private, local or reserved network; nothing was fetched.",
              "127.0.0.1 is on a private, local or reserved network."),
    ErrorCode(400, "invalid_domain", "Site history asked for something that is not a domain name.",
              "Give the site's domain name, such as pharmacy.example (no https:// or path)."),
    ErrorCode(401, "api_key_required", "The service needs an API key and the request has none. The answer carries WWW-Authenticate.",
              "This service needs an API key: send it in the header X-API-Key: KEY or Authorization: Bearer KEY."),
    ErrorCode(401, "invalid_api_key", "The key is unknown or was revoked. The answer carries WWW-Authenticate.",
              "The API key is not valid: no key of this service matches it."),
    ErrorCode(404, "not_found", "No such path or no such resource.", "There is nothing at /api/v1/nothing."),
    ErrorCode(404, "not_checked", "/report.json: the site has not been checked recently (it never starts a check).",
              "This site has not been checked recently; open /report?url=... first."),
    ErrorCode(404, "job_not_found", "No such job, or one that another API key created.", "There is no job 'j_123'."),
    ErrorCode(404, "report_not_found", "No kept report with this id.", "There is no report 42."),
    ErrorCode(405, "method_not_allowed", "The path exists but not for this method; the answer's Allow header lists those that work.",
              "GET is not allowed on /api/v1/batches; use POST."),
    ErrorCode(413, "request_too_large", "The request body is larger than the service accepts (1 MiB unless configured).",
              "The request body is larger than 1048576 bytes."),
    ErrorCode(422, "invalid_request", "The request is malformed: not JSON, a field missing or of the wrong type. The message names each field and what was expected; `details` lists them one by one.",
              "url: expected a string of at most 2048 characters, got one of 3000."),
    ErrorCode(422, "batch_too_large", "A batch holds more URLs than a batch may (100).",
              "A batch may hold at most 100 URLs; this one has 150."),
    ErrorCode(422, "job_too_large", "A job holds more addresses than a job may (100,000).",
              "A job may hold at most 100000 addresses; this one has 120000."),
    ErrorCode(422, "empty_job", "The job's list or file holds no addresses.", "The upload holds no addresses."),
    ErrorCode(422, "invalid_upload", "An uploaded file that is not UTF-8 text or not readable CSV.",
              "The upload is not UTF-8 text."),
    ErrorCode(422, "invalid_webhook", "A webhook address pharmacheck will not contact.",
              "webhook.url: Only http:// and https:// addresses can be checked."),
    ErrorCode(422, "batch_exceeds_limit", "The request costs more checks than the caller's whole rate limit or quota, so it could never be accepted; waiting does not help. Send fewer URLs at a time.",
              "This request needs 31 checks, but anonymous clients may start at most 30 checks per minute, so it could never be accepted. Send at most 30 URLs at a time, or use an API key."),
    ErrorCode(429, "rate_limited", "Too many checks in the current window; Retry-After says when the window starts again.",
              "Too many checks: this client may start 30 checks per minute and has 0 left. Try again in 12 seconds."),
    ErrorCode(429, "quota_exceeded", "The key's quota for the day or month is spent; Retry-After says when the next period starts.",
              "This key has used 1000 of its 1000 checks this month; this request needs 1. The quota starts again on 1 January 2027 (00:00 UTC)."),
    ErrorCode(500, "internal_error", "A fault of pharmacheck's own; it is logged.",
              "Something went wrong on our side; the error was logged."),
    ErrorCode(503, "busy", "Too many sites are being checked at once; Retry-After says when to try again.",
              "Too many sites are being checked right now; try again in a few seconds."),
    ErrorCode(503, "unavailable", "The store or the rate-limit store cannot be reached right now; Retry-After says when to try again.",
              "The service cannot reach its key and usage store right now; try again in a few seconds."),
)

# Any other HTTP error the framework raises, with its own status.
FALLBACK_CODE = "http_error"

BY_CODE = {e.code: e for e in ERROR_CODES}


def codes_for(status: int) -> list[ErrorCode]:
    return [e for e in ERROR_CODES if e.status == status]
