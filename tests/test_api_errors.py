"""API errors in plain words: each names the field and what was expected; JSON syntax errors give line and
column; 405 names the methods that work; `details` keeps the fields apart for programs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.api.validation import describe_json_error, field_name


@pytest.fixture(scope="module")
def client(sites, tmp_path_factory):
    settings = sites.settings(data_dir=str(tmp_path_factory.mktemp("errors")), rate_limit_anonymous="10000/minute")
    with TestClient(create_app(settings)) as c:
        yield c


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("send, message", [
    (dict(json={"url": "https://pharmacy.example/" + "a" * 3000}),
     "url: expected a string of at most 2048 characters, got one of 3025 characters."),
    (dict(json={"url": ""}), "url: expected a string of at least 1 character, got an empty string."),
    (dict(json={"url": 12}), "url: expected a string, got a number (12)."),
    (dict(json={"url": None}), "url: expected a string, got null."),
    (dict(json={"link": "https://pharmacy.example"}), "url: missing; this field is required."),
    (dict(json=["https://pharmacy.example"]),
     'request body: expected a JSON object such as {"url": "https://pharmacy.example"}, got a list of 1 item.'),
    (dict(json="https://pharmacy.example"), 'request body: expected a JSON object such as {"url": "https://pharmacy.example"}, got the string "https://pharmacy.example".'),
    (dict(content=b'{"url": "https://pharmacy.example",}', headers=JSON),
     "request body: not valid JSON at line 1, column 36: a field name in double quotes was expected."),
    (dict(content=b'{\n  "url": "https://pharmacy.example"\n  "force": true\n}', headers=JSON),
     "request body: not valid JSON at line 3, column 3: a comma was expected between two items."),
    (dict(content=b"{'url': 'x'}", headers=JSON), "request body: not valid JSON at line 1, column 2: a field name in double quotes was expected."),
    (dict(content=b'{"url": "x"} trailing', headers=JSON),
     "request body: not valid JSON at line 1, column 14: the JSON value is complete, but more text follows it."),
    (dict(content=b'{"url": "https://pharmacy.example', headers=JSON),
     "request body: not valid JSON at line 1, column 9: a string is not closed with a double quote."),
    (dict(content=b"url=https://pharmacy.example", headers={"content-type": "application/x-www-form-urlencoded"}),
     'request body: expected JSON (Content-Type: application/json), but it was sent as application/x-www-form-urlencoded; '
     'send a JSON object such as {"url": "https://pharmacy.example"}.'),
    (dict(), 'request body: missing; expected a JSON object such as {"url": "https://pharmacy.example"} (Content-Type: application/json).'),
    (dict(content=b"[" * 100_000, headers=JSON),
     "request body: JSON nested too deeply (lists or objects inside each other hundreds of levels deep)."),
    (dict(content=b'{"url": "\xff"}', headers=JSON), "request body: not UTF-8 text (byte 10 cannot be read); send JSON in UTF-8."),
])
def test_a_malformed_check_request_is_explained(client, send, message):
    response = client.post("/api/v1/checks", **send)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] == message
    assert len(error["details"]) == 1 and error["details"][0]["message"] + "." == message
    for banned in ("JSON decode error", "Input should be", "Field required", "valid dictionary"):
        assert banned not in error["message"]


def test_every_wrong_field_of_a_batch_is_named(client):
    response = client.post("/api/v1/batches", json={"urls": ["https://a.example", 3, None, ["x"]]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == ("urls[1]: expected a string, got a number (3); urls[2]: expected a string, got null; "
                                "urls[3]: expected a string, got a list of 1 item.")
    assert [d["field"] for d in error["details"]] == ["urls[1]", "urls[2]", "urls[3]"]
    assert {d["location"] for d in error["details"]} == {"body"}
    empty = client.post("/api/v1/batches", json={"urls": []}).json()["error"]
    assert empty["message"] == "urls: expected a list of at least 1 item, got 0 items."
    wrong_body = client.post("/api/v1/batches", json={"url": "https://a.example"}).json()["error"]
    assert wrong_body["message"] == "urls: missing; this field is required."
    shaped = client.post("/api/v1/batches", json=["https://a.example"]).json()["error"]
    assert shaped["message"].startswith('request body: expected a JSON object such as {"urls": [')


def test_many_wrong_fields_are_summed_up(client):
    error = client.post("/api/v1/batches", json={"urls": list(range(8))}).json()["error"]
    assert error["message"].endswith("; and 3 more (see details).") and len(error["details"]) == 8


def test_query_parameters_are_named_as_such(client):
    missing = client.get("/api/v1/checks").json()["error"]
    assert missing["message"] == "url (query parameter): missing; this field is required."
    assert missing["details"] == [{"field": "url (query parameter)", "location": "query",
                                   "message": "url (query parameter): missing; this field is required"}]
    long = client.get("/api/v1/checks", params={"url": "https://a.example/" + "b" * 2100}).json()["error"]
    assert long["message"].startswith("url (query parameter): expected a string of at most 2048 characters")


def test_method_not_allowed_names_the_methods_that_work(client):
    response = client.get("/api/v1/batches")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"] == {"code": "method_not_allowed", "message": "GET is not allowed on /api/v1/batches; use POST."}
    rules = client.delete("/api/v1/rules")
    assert rules.status_code == 405 and "HEAD" in rules.headers["allow"]
    assert rules.json()["error"]["message"] == "DELETE is not allowed on /api/v1/rules; use GET."


def test_not_found_names_the_path(client):
    response = client.get("/api/v1/nothing")
    assert response.json()["error"] == {"code": "not_found", "message": "There is nothing at /api/v1/nothing; /docs lists the API's paths."}


def test_field_names_and_json_positions():
    assert field_name(("body", "urls", 2)) == "urls[2]"
    assert field_name(("body", "webhook", "url")) == "webhook.url"
    assert field_name(("query", "limit")) == "limit (query parameter)"
    assert field_name(("path", "job_id")) == "job_id (path parameter)"
    assert field_name(("body",)) == "request body"
    assert describe_json_error('{\n  "a": 1,\n  }', 14, "Expecting property name enclosed in double quotes")["message"] == (
        "request body: not valid JSON at line 3, column 3: a field name in double quotes was expected")
    assert describe_json_error("", 0, "Expecting value")["message"].startswith("request body: not valid JSON at line 1, column 1: a value was expected")
