"""The command line: check, batch and rules, with exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def test_check_prints_verdict_first_then_findings(sites, capsys):
    code = main(["check", sites.url("rogue-store.test"), *sites.cli_args()])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("LIKELY ROGUE")
    assert "prescription.no-prescription-offer" in out
    assert "seen on https://rogue-store.test" in out


def test_check_json_is_the_report(sites, capsys):
    code = main(["check", sites.url("good-pharmacy.test"), "--json", *sites.cli_args()])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["algorithm_version"] and report["verdict"] in (
        "likely_legitimate", "caution", "likely_rogue", "not_a_pharmacy", "unknown")


def test_refused_url_exits_2_with_one_line(capsys):
    code = main(["check", "http://127.0.0.1/"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and "error:" in captured.err


def test_refused_url_with_json_prints_error_object(capsys):
    code = main(["check", "gopher://x.example/", "--json"])
    assert code == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "invalid_url"


def test_bad_options_exit_2(capsys, tmp_path):
    assert main(["check", "https://a.example", "--max-pages", "zero"]) == 2
    assert main(["check", "https://a.example", "--resolve", "nonsense"]) == 2
    assert main(["check", "https://a.example", "--rules", str(tmp_path / "missing.yaml")]) == 2
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 4


def test_known_sites_finding_cites_the_source(sites, capsys, tmp_path):
    listing = tmp_path / "known.csv"
    listing.write_text("domain,label,source\nrogue-store.test,rogue,test-regulator-list\n", encoding="utf-8")
    main(["check", sites.url("rogue-store.test"), "--json", "--known-sites", str(listing), *sites.cli_args()])
    report = json.loads(capsys.readouterr().out)
    listed = next(f for f in report["findings"] if f["id"] == "known_sites.listed-rogue")
    assert "test-regulator-list" in listed["evidence"][0]["snippet"]


def test_batch_writes_json_lines_and_counts(sites, capsys, tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{sites.url('rogue-store.test')}\n# comment\n\n{sites.url('good-pharmacy.test')}\nhttp://10.0.0.1/\n")
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(urls), "--out", str(out), "--concurrency", "2", *sites.cli_args()])
    assert code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3
    assert any(line.get("error", {}).get("code") == "blocked_destination" for line in lines)
    assert "checked 3" in capsys.readouterr().err


def test_rules_command_prints_the_table(capsys):
    assert main(["rules"]) == 0
    assert "algorithm_version" in json.loads(capsys.readouterr().out)


def _one_clear_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("pharmacheck: error: "), err
    return err


def test_files_that_are_not_utf8_exit_2_with_one_line(capsys, tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("domain,label,source\nboutique-\xe9t\xe9.example,rogue,liste\n".encode("latin-1"))
    assert main(["check", "https://a.example", "--known-sites", str(latin)]) == 2
    assert "UTF-8" in _one_clear_line(capsys)
    assert main(["batch", str(latin)]) == 2
    assert "UTF-8" in _one_clear_line(capsys)
    assert main(["check", "https://a.example", "--rules", str(latin)]) == 2
    assert "UTF-8" in _one_clear_line(capsys)


def test_ports_and_page_budget_out_of_range_exit_2(capsys):
    for argv in (
        ["serve", "--port", "99999"],
        ["serve", "--port", "-5"],
        ["check", "https://a.example", "--allow-port", "-1"],
        ["check", "https://a.example", "--allow-port", "70000"],
        ["check", "https://a.example", "--max-pages", "1000000"],
    ):
        assert main(argv) == 2, argv
        _one_clear_line(capsys)


def test_batch_file_with_a_byte_order_mark_reads_its_first_url(tmp_path):
    from app.cli import _read_urls

    urls = tmp_path / "urls.txt"
    urls.write_bytes("\ufeffhttps://a.example/\nhttps://b.example/\n".encode("utf-8"))
    assert _read_urls(str(urls)) == ["https://a.example/", "https://b.example/"]


def test_bad_yaml_rules_is_one_line_naming_file_line_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scoring:\n  baseline: 50\n  verdicts: [unclosed\n", encoding="utf-8")
    assert main(["check", "https://a.example", "--rules", str(bad)]) == 2
    err = _one_clear_line(capsys)
    assert str(bad) in err and "line " in err and "column " in err and "<unicode string>" not in err


def test_batch_writes_an_error_line_and_carries_on_when_a_check_breaks(sites):
    import asyncio

    from app.batch import run_batch
    from app.pipeline import Checker

    class Breaking(Checker):
        async def check(self, url, *args, **kwargs):
            if "rogue-store" in url:
                raise RuntimeError("boom")
            return await super().check(url, *args, **kwargs)

    async def run():
        settings = sites.settings()
        async with Breaking(settings) as checker:
            urls = [sites.url("rogue-store.test"), sites.url("good-pharmacy.test")]
            return [item async for item in run_batch(settings, urls, concurrency=2, checker=checker)]

    items = asyncio.run(asyncio.wait_for(run(), timeout=60))
    lines = {json.loads(line)["url"]: (json.loads(line), verdict) for line, verdict in items}
    broken, verdict = lines[sites.url("rogue-store.test")]
    assert verdict == "error" and broken["error"]["code"] == "internal_error"
    assert lines[sites.url("good-pharmacy.test")][1] != "error"


def test_a_reader_that_stops_early_gets_no_traceback(sites):
    # `pharmacheck check URL | head -0`: the reader has gone before the report is written out. The check takes
    # far longer than closing a pipe, so the first write meets a closed pipe.
    import subprocess
    import sys

    command = [sys.executable, "-m", "app.cli", "check", sites.url("rogue-store.test"), *sites.cli_args()]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("content", ["", "# only comments\n\n"])
def test_empty_batch_says_it_checked_no_sites(tmp_path, capsys, content):
    urls = tmp_path / "urls.txt"
    urls.write_text(content)
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(urls), "--out", str(out)]) == 0
    assert out.read_text() == ""
    assert capsys.readouterr().err.strip() == "checked 0 sites"


def test_a_bare_call_prints_the_usage_and_the_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: pharmacheck")
    for command in ("check", "batch", "serve", "lists"):
        assert command in err


def test_version_names_the_algorithm_the_reports_carry(sites, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    line = capsys.readouterr().out.strip()
    main(["check", "--json", *sites.cli_args(), sites.url("good-pharmacy.test")])
    report = json.loads(capsys.readouterr().out)
    assert line.startswith("pharmacheck ")
    assert line.endswith(f"(algorithm {report['algorithm_version']})")


def test_version_follows_the_settings_a_check_would_use(monkeypatch, capsys):
    monkeypatch.setenv("PHARMACHECK_MODEL", "off")
    with pytest.raises(SystemExit):
        main(["--version"])
    from app.rules import load_rules

    assert capsys.readouterr().out.strip().endswith(f"(algorithm {load_rules().algorithm_version})")
