"""The web TUI's guard (sandbox/web_tui/guard.py): each rule on its own, as pure decisions."""

from __future__ import annotations

from sandbox.security.policy import Request
from sandbox.web_tui.guard import decide, token_of

PORT, TOKEN = 8123, "s3cr3t-token_value"


def verdict(path=f"/{TOKEN}/", method="GET", remote="127.0.0.1", **headers):
    headers.setdefault("Host", f"127.0.0.1:{PORT}")
    return decide(Request(method, path, headers, {}, remote), PORT, TOKEN)


def test_the_page_its_files_and_its_websocket_pass_with_the_token():
    assert verdict().allowed
    assert verdict(f"/{TOKEN}/static/js/textual.js", **{"Sec-Fetch-Site": "same-origin"}).allowed
    assert verdict(f"/{TOKEN}/ws", Origin=f"http://127.0.0.1:{PORT}").allowed
    assert verdict(f"/{TOKEN}/ws", Host=f"localhost:{PORT}", Origin=f"http://localhost:{PORT}").allowed
    assert verdict(Host=f"[::1]:{PORT}").allowed
    assert verdict(**{"Sec-Fetch-Site": "none"}).allowed  # typed into the address bar


def test_no_token_or_another_token_is_refused():
    for path in ("/", "/ws", "/static/js/textual.js", f"/{TOKEN[:-1]}/", f"/{TOKEN}x/", f"/x/{TOKEN}/", ""):
        assert verdict(path).kind == "token", path
    assert token_of(f"/{TOKEN}/ws") == TOKEN and token_of("/") == ""


def test_foreign_hosts_origins_and_peers_are_refused_before_the_token():
    assert verdict(Host=f"rebind.attacker.example:{PORT}").kind == "host"
    assert verdict(Host=f"app.localhost:{PORT}").kind == "host"  # not the web TUI's own name
    assert verdict(Host="").kind == "host"
    assert verdict(f"/{TOKEN}/ws", Origin="https://attacker.example").kind == "cross-site"
    assert verdict(f"/{TOKEN}/ws", Origin="null").kind == "cross-site"
    assert verdict(f"/{TOKEN}/ws", Origin=f"http://127.0.0.1:{PORT + 1}").kind == "cross-site"  # another local app
    assert verdict(**{"Sec-Fetch-Site": "cross-site"}).kind == "cross-site"
    assert verdict(Referer="https://attacker.example/page", **{"Sec-Fetch-Site": "same-site"}).kind == "cross-site"
    assert verdict(remote="192.168.1.20").kind == "remote"


def test_only_reads_are_served():
    assert verdict(method="POST").status == 405
    assert verdict(method="HEAD").allowed
