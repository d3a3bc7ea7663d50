"""The request policy, SigV4 checking and the environment's own defences as pure logic: no LocalStack needed.

The same attacks run against a live sandbox in test_security.py; here every rule is pinned down one by one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import botocore.session
import psutil
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sandbox.security import policy as p
from sandbox.security import sigv4

LAMBDA_PROCESS = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"
PORT = 4566
POLICY = p.Policy.create(port=PORT, token="tok-123", allowed_origins=["http://localhost:5173"],
                         local_names=["localhost.localstack.cloud"])
SIGV4 = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=ab"


def req(method="GET", path="/", headers=None, query=None, remote="127.0.0.1"):
    return p.Request(method=method, path=path, headers={"Host": f"127.0.0.1:{PORT}", **(headers or {})},
                     query=query or {}, remote_addr=remote)


def verdict(request, is_s3=False):
    return p.decide(request, POLICY, is_s3=lambda _: is_s3)


# --- Host header (DNS rebinding) --------------------------------------------------------------------------------

@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", "127.0.0.1", f"localhost:{PORT}", f"[::1]:{PORT}",
                                  f"bucket.s3.localhost:{PORT}", f"abc.execute-api.localhost:{PORT}",
                                  f"localhost.localstack.cloud:{PORT}", f"q.sqs.localhost.localstack.cloud:{PORT}",
                                  f"127.0.0.2:{PORT}", "LOCALHOST"])
def test_hosts_of_this_machine_are_accepted(host):
    assert verdict(req(headers={"Host": host})).allowed


@pytest.mark.parametrize("host", [f"evil.example:{PORT}", "evil.example", f"localhost.evil.example:{PORT}",
                                  f"127.0.0.1.nip.io:{PORT}", f"10.0.0.5:{PORT}", f"0.0.0.0:{PORT}",
                                  f"localstack.cloud:{PORT}", f"[2001:db8::1]:{PORT}", ""])
def test_foreign_hosts_are_refused(host):
    decision = verdict(req(headers={"Host": host}))
    assert not decision.allowed and decision.status == 403 and decision.kind == "host"
    assert "127.0.0.1" in decision.reason  # says what to use instead


def test_hosts_file_names_mapped_to_loopback_only():
    text = "127.0.0.1 localhost\n127.0.1.1 laptop laptop.lan # comment\n::1 ip6-localhost\n" \
           "0.0.0.0 ads.example\n10.0.0.2 nas\n#127.0.0.1 commented\n"
    assert p.hosts_file_loopback_names(text) == {"localhost", "laptop", "laptop.lan", "ip6-localhost"}


# --- cross-site requests ----------------------------------------------------------------------------------------

def test_a_web_page_cannot_drive_the_sandbox_with_image_gets():
    """`<img src="http://127.0.0.1:4566/?Action=CreateQueue...">`: no Origin, but Sec-Fetch-Site says cross-site."""
    for query in ({"Action": "CreateStack"}, {"Action": "Subscribe"}, {"Action": "Publish"}):
        decision = verdict(req(query=query, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}))
        assert not decision.allowed and decision.kind == "cross-site"
    # a page's read of the control plane is refused too
    assert not verdict(req(path="/_sandbox/events", headers={"Sec-Fetch-Site": "cross-site"})).allowed


def test_an_old_browser_without_fetch_metadata_is_stopped_by_the_signature_rule():
    decision = verdict(req(query={"Action": "CreateQueue", "QueueName": "x"}))
    assert not decision.allowed and decision.kind == "unsigned"
    # even with a forged query signature: any page can put that on an <img>
    forged = {"Action": "CreateQueue", "X-Amz-Signature": "x", "X-Amz-Credential": "test/x"}
    assert not verdict(req(query=forged)).allowed


@pytest.mark.parametrize("origin", ["https://app.localstack.cloud", "http://app.localstack.cloud", "file://",
                                    "null", "https://localhost", f"http://127.0.0.1:{PORT + 1}",
                                    f"http://evil.example:{PORT}", "http://localhost:5174"])
def test_foreign_origins_are_refused_even_when_signed(origin):
    decision = verdict(req("POST", "/2015-03-31/functions", headers={"Origin": origin, "Authorization": SIGV4}))
    assert not decision.allowed and decision.kind == "cross-site"
    assert "--allow-origin" in decision.reason
    preflight = verdict(req("OPTIONS", "/2015-03-31/functions", headers={"Origin": origin}))
    assert not preflight.allowed


@pytest.mark.parametrize("origin", [f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}", "http://localhost:5173",
                                    "HTTP://LOCALHOST:5173/"])
def test_own_and_allowed_origins_pass(origin):
    assert verdict(req("POST", "/", headers={"Origin": origin, "Authorization": SIGV4})).allowed
    assert verdict(req("OPTIONS", "/", headers={"Origin": origin})).allowed


def test_referer_without_origin_counts():
    assert not verdict(req(query={"Action": "Publish"}, headers={"Referer": "https://evil.example/page"})).allowed
    assert verdict(req(path="/_sandbox/info", headers={"Referer": f"http://127.0.0.1:{PORT}/x",
                                                         "Sec-Fetch-Site": "same-origin"})).allowed


def test_data_plane_and_s3_reads_serve_browsers_as_aws_does():
    evil = {"Origin": "https://evil.example"}
    assert verdict(req("POST", "/_aws/execute-api/abc/dev/items", headers=evil)).allowed
    assert verdict(req("GET", "/", headers={**evil, "Host": f"abc.execute-api.localhost:{PORT}"})).allowed
    assert verdict(req("POST", "/", headers={**evil, "Host": f"x1.lambda-url.us-east-1.localhost:{PORT}"})).allowed
    # the legacy path form can reach the API Gateway control plane when no such API exists: not exempt
    assert not verdict(req("GET", "/restapis/abc/dev/_user_request_/items", headers=evil)).allowed
    # a presigned S3 link opened from a chat: a cross-site navigation
    nav = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert verdict(req("GET", "/bucket/key", query={"X-Amz-Signature": "s"}, headers=nav), is_s3=True).allowed
    # ...but not an S3 write, and not an S3-looking GET action
    assert not verdict(req("PUT", "/bucket/key", headers=evil), is_s3=True).allowed
    assert not verdict(req("POST", "/bucket", headers={**evil, "Content-Type": "multipart/form-data; b=x"}),
                       is_s3=True).allowed
    assert not verdict(req("GET", "/", query={"Action": "CreateQueue"}, headers=nav), is_s3=True).allowed


# --- requests without any browser signal (tools) ----------------------------------------------------------------

def test_tools_pass_with_a_signature_or_the_token():
    assert verdict(req("POST", "/", headers={"Authorization": SIGV4})).allowed
    assert verdict(req("PUT", "/b/k", headers={"Authorization": "AWS test:c2ln"})).allowed  # SigV2
    assert verdict(req("PUT", "/b/k", query={"X-Amz-Signature": "s", "X-Amz-Credential": "c"})).allowed  # presigned
    assert verdict(req("POST", "/_sandbox/reset", headers={"X-Sandbox-Token": "tok-123"})).allowed
    assert verdict(req("POST", "/bucket", headers={"Content-Type": "multipart/form-data; boundary=x"}),
                   is_s3=True).allowed
    assert verdict(req("GET", "/_sandbox/events")).allowed  # reads need nothing
    assert verdict(req("POST", "/_localstack_lambda/env/invocations/r/response")).allowed  # checked by its endpoint


def test_unsigned_state_changes_and_wrong_tokens_are_refused():
    for method, path in (("DELETE", "/b/k"), ("PUT", "/2015-03-31/functions/f/code")):
        decision = verdict(req(method, path))
        assert not decision.allowed and decision.kind == "unsigned", (method, path)
        assert "X-Sandbox-Token" in decision.reason
    for method, path in (("POST", "/_sandbox/reset"), ("POST", "/_localstack/health"),
                         ("POST", "/_localstack/chaos/faults"), ("DELETE", "/_sandbox/chaos/lambda")):
        decision = verdict(req(method, path))
        assert not decision.allowed and decision.kind == "token", (method, path)
        assert "X-Sandbox-Token" in decision.reason
    wrong = verdict(req("POST", "/_sandbox/reset", headers={"X-Sandbox-Token": "guess"}))
    assert not wrong.allowed and wrong.kind == "token"


def test_the_sandboxs_own_endpoints_change_state_only_with_the_token_not_a_made_up_signature():
    """A signature with any key was accepted on /_localstack/health (kill), /_sandbox/reset and the chaos API: any
    program on the machine, or a function (it gets credentials), could stop or empty the sandbox."""
    for method, path in (("POST", "/_sandbox/reset"), ("POST", "/_localstack/health"), ("POST", "/_localstack"),
                         ("POST", "/_localstack/chaos/faults"), ("PATCH", "/_localstack/chaos/effects"),
                         ("POST", "/_sandbox/recorder"), ("POST", "/_extension/x"), ("POST", "/_pods/save")):
        forged = verdict(req(method, path, headers={"Authorization": SIGV4}))
        assert not forged.allowed and forged.kind == "token", (method, path, forged)
        assert "an AWS signature is not enough" in forged.reason
        assert verdict(req(method, path, headers={"Authorization": SIGV4, "X-Sandbox-Token": "tok-123"})).allowed
    # what stays open: reads, the services' own APIs, LocalStack's /_aws/ service endpoints, the runtime callbacks
    assert verdict(req("GET", "/_localstack/health", headers={"Authorization": SIGV4})).allowed
    assert verdict(req("POST", "/", headers={"Authorization": SIGV4})).allowed
    assert verdict(req("POST", "/_aws/sqs/messages", headers={"Authorization": SIGV4})).allowed
    assert verdict(req("POST", "/_localstack_lambda/env/invocations/r/response")).allowed


# --- remote peers -----------------------------------------------------------------------------------------------

def test_remote_peers_are_refused_unless_remote_is_allowed_and_they_authenticate():
    remote = req("GET", "/_sandbox/info", remote="192.168.1.20", headers={"Host": "192.168.1.5:4566"})
    assert p.decide(remote, POLICY).kind == "remote"
    open_policy = p.Policy.create(port=PORT, token="tok-123", allow_remote=True)
    refused = p.decide(remote, open_policy)
    assert not refused.allowed and refused.status == 401
    with_token = req("GET", "/_sandbox/info", remote="192.168.1.20",
                     headers={"Host": "192.168.1.5:4566", "X-Sandbox-Token": "tok-123"})
    assert p.decide(with_token, open_policy).allowed
    signed_ok = p.RemoteAuth(lambda r: True)
    assert p.decide(remote, open_policy, signed_ok).allowed


@pytest.mark.parametrize("origin, error", [("http://localhost:5173", None), ("https://app.example.com", None),
                                           ("*", "wildcards"), ("null", "wildcards"), ("localhost:3000", "scheme"),
                                           ("http://localhost:3000/app", "scheme")])
def test_allowed_origins_are_checked(origin, error):
    if error is None:
        assert p.check_origin(origin) == origin.lower()
    else:
        with pytest.raises(ValueError, match="e.g. http://localhost:5173"):
            p.check_origin(origin)


# --- SigV4 for remote clients -----------------------------------------------------------------------------------

TOKEN = "remote-token-xyz"


def signed(method, url, service, body=b"", headers=None, auth_class=SigV4Auth, secret=TOKEN, key_id=None):
    creds = Credentials(key_id or sigv4.remote_key_id(TOKEN), secret)
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    auth_class(creds, service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    split = url.split("://", 1)[1]
    host, _, rest = split.partition("/")
    raw = "/" + rest
    view = p.Request(method=method, path=raw.split("?")[0], headers={"Host": host, **dict(prepared.headers)},
                     remote_addr="192.168.1.20")
    return view, raw, prepared.body or b""


@pytest.mark.parametrize("method, url, service, body, auth", [
    ("POST", "http://10.0.0.1:4566/", "sqs", b"Action=CreateQueue&QueueName=q", SigV4Auth),
    ("POST", "http://10.0.0.1:4566/2015-03-31/functions/my-fn/invocations", "lambda", b'{"a": 1}', SigV4Auth),
    ("GET", "http://10.0.0.1:4566/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Af", "lambda",
     b"", SigV4Auth),
    ("PUT", "http://10.0.0.1:4566/bucket/dir/a%20file+%2B.txt", "s3", b"data", S3SigV4Auth),
    ("GET", "http://10.0.0.1:4566/bucket?list-type=2&prefix=a%2Fb&max-keys=5", "s3", b"", S3SigV4Auth),
])
def test_sigv4_of_botocore_requests_verifies(method, url, service, body, auth):
    view, raw, payload = signed(method, url, service, body, auth_class=auth)
    assert sigv4.verify(view, TOKEN, raw, body=lambda: payload)
    # tampering with anything signed breaks it
    tampered = p.Request(view.method, view.path, {**view.headers, "X-Amz-Date": "20200101T000000Z"},
                         remote_addr=view.remote_addr)
    assert not sigv4.verify(tampered, TOKEN, raw, body=lambda: payload)
    if payload and auth is SigV4Auth:
        assert not sigv4.verify(view, TOKEN, raw, body=lambda: payload + b"x")


def test_sigv4_refuses_other_keys_and_secrets():
    view, raw, payload = signed("POST", "http://10.0.0.1:4566/", "sqs", b"Action=ListQueues", secret="test",
                                key_id="test")
    assert not sigv4.verify(view, TOKEN, raw, body=lambda: payload)
    view, raw, payload = signed("POST", "http://10.0.0.1:4566/", "sqs", b"Action=ListQueues", secret="wrong")
    assert not sigv4.verify(view, TOKEN, raw, body=lambda: payload)


def test_presigned_s3_urls_verify_until_they_expire():
    creds = Credentials(sigv4.remote_key_id(TOKEN), TOKEN)
    request = AWSRequest(method="GET", url="http://10.0.0.1:4566/bucket/key.txt", headers={})
    S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=60).add_auth(request)
    raw = request.url.split("4566", 1)[1]
    view = p.Request("GET", "/bucket/key.txt", {"Host": "10.0.0.1:4566"}, remote_addr="192.168.1.20")
    assert sigv4.verify(view, TOKEN, raw, body=lambda: b"")
    later = datetime.now(timezone.utc).replace(year=datetime.now().year + 1)
    assert not sigv4.verify(view, TOKEN, raw, body=lambda: b"", now=later)


def test_remote_key_id_is_a_default_account_key():
    from localstack.aws.accounts import get_account_id_from_access_key_id

    key = sigv4.remote_key_id(TOKEN)
    assert len(key) == 20 and key.startswith("SBX")
    assert get_account_id_from_access_key_id(key) == "000000000000"


# --- the environment's own defences -----------------------------------------------------------------------------

@pytest.fixture
def lambda_process_path(monkeypatch):
    monkeypatch.syspath_prepend(str(LAMBDA_PROCESS))


def test_invoke_servers_accept_only_well_formed_invocations(lambda_process_path):
    import bootstrap

    good = {"invoke-id": "5f0c-11aa", "payload": "{}", "invoked-function-arn": "arn:x", "trace-id": "Root=1"}
    assert bootstrap.parse_invocation(json.dumps(good).encode()) == good
    for bad in (b"{}", b"[]", b"null", b"not json", json.dumps({"invoke-id": 5}).encode(),
                json.dumps({"invoke-id": "../../x"}).encode(), json.dumps({"invoke-id": "a", "payload": {}}).encode(),
                json.dumps({"invoke-id": "a" * 101}).encode()):
        assert bootstrap.parse_invocation(bad) is None, bad


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
                                            ("localhost", True), ("api.localhost", False), (None, True),
                                            ("10.255.255.1", False), ("0.0.0.0", False), ("example.com", False),
                                            ("::ffff:10.0.0.1", False), ("169.254.169.254", False)])
def test_function_network_guard_knows_loopback(lambda_process_path, host, loopback):
    import network_guard

    assert network_guard.is_loopback(host) is loopback


def test_process_start_times_match_psutil(lambda_process_path):
    """Records the supervisor writes are read by ProcessRegistry through psutil: same start time or nothing
    would ever be stopped."""
    import proctree

    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert abs(proctree.create_time(proc.pid) - psutil.Process(proc.pid).create_time()) < 0.05
    finally:
        proc.kill()
        proc.wait()


def _run_supervisor(tmp_path, script: str, namespaces: bool, memory_mb: int = 0):
    env_dir = tmp_path / "env"
    (env_dir / "tmp").mkdir(parents=True)
    spec = {"env": {"PATH": os.environ["PATH"]}, "cwd": str(tmp_path), "argv": ["/bin/sh", "-c", script],
            "env_dir": str(env_dir), "tmp": str(env_dir / "tmp"), "memory_mb": memory_mb,
            "read_paths": [sys.prefix, sys.base_prefix], "registry_dir": None, "label": "test", "confine": namespaces, "namespaces": namespaces}
    proc = subprocess.Popen([sys.executable, "-s", str(LAMBDA_PROCESS / "supervisor.py")], stdin=subprocess.PIPE,
                            start_new_session=True)
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    return proc, env_dir


def _pids_of(tmp_path, name) -> list[int]:
    marker = str(tmp_path / name)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc.pid)
    return found


@pytest.mark.parametrize("namespaces", [False, True], ids=["subreaper-only", "pid-namespace"])
def test_supervisor_stops_every_process_of_the_environment(tmp_path, namespaces):
    """Children that escape their parent (setsid, double fork) still die with the environment, with or without a
    PID namespace (the fallback where user namespaces are disabled)."""
    sleeper = f"{sys.executable} -S -c 'import time; time.sleep(300)' {tmp_path / 'marker'}"
    script = f"setsid {sleeper} & ({sleeper} &) ; exec {sleeper}"
    proc, env_dir = _run_supervisor(tmp_path, script, namespaces)
    try:
        deadline = time.monotonic() + 10
        while len(_pids_of(tmp_path, "marker")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_pids_of(tmp_path, "marker")) == 3
        report = json.loads((env_dir / "confinement.json").read_text())
        assert report["pid_namespace"] is namespaces
        if namespaces:  # its code (tmp_path) is under /tmp: bound back on top of the private /tmp
            assert {"private /proc and /tmp", "read-only mounts"} <= set(report["applied"]), report
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _pids_of(tmp_path, "marker") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids_of(tmp_path, "marker") == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_supervisor_kills_an_environment_over_its_memory_size(tmp_path):
    script = "python3 -c \"import time; b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)\""
    proc, env_dir = _run_supervisor(tmp_path, script, namespaces=True, memory_mb=64)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    marker = json.loads((env_dir / "memory-exceeded").read_text())
    assert marker["limit_mb"] == 64 and marker["peak_mb"] > 64


def test_lookalikes_of_exempt_requests_are_not_exempt():
    """Found by an adversarial review: each of these created a function, a queue or read events."""
    # a host that merely contains `.lambda-url.` is routed to the control plane by LocalStack
    fake_url_host = req("POST", "/2015-03-31/functions", headers={"Host": f"abc.lambda-url.localhost:{PORT}"})
    assert verdict(fake_url_host).kind == "unsigned"
    # a multipart POST to `/` is the query protocol (`-F Action=CreateQueue`), not an S3 upload
    form = {"Content-Type": "multipart/form-data; boundary=x"}
    assert not verdict(req("POST", "/", headers=form), is_s3=True).allowed
    assert not verdict(req("POST", "/bucket", headers=form), is_s3=False).allowed
    assert not verdict(req("POST", "/bucket", headers=form, query={"Action": "CreateQueue"}), is_s3=True).allowed
    # LocalStack calls unknown paths S3: the sandbox's own routes are never "S3 reads"
    assert not verdict(req("GET", "/_sandbox/events", headers={"Sec-Fetch-Site": "cross-site"}), is_s3=True).allowed
    # a page of an app's virtual host is the app's origin, not the sandbox's
    for origin in (f"http://abc.execute-api.localhost:{PORT}", f"http://abc.execute-api.cloudfront.localhost:{PORT}",
                   f"http://bucket.s3-website.localhost:{PORT}"):
        assert not verdict(req("POST", "/2015-03-31/functions", headers={"Origin": origin, "Authorization": SIGV4})).allowed


def test_only_what_localstack_routes_to_an_app_is_an_apps_api():
    """Found by a security probe: `/_aws/execute-api/` with no API id matches no API Gateway route, so LocalStack's
    services read `Action=CreateStack` from a page's form (or an <img>'s query) and deployed code; on an execute-api
    host, `/_localstack/health` ({"action": "kill"}) and the chaos API are LocalStack's, served on any host; a
    function-URL host with a region LocalStack's router does not know goes to the Lambda control plane."""
    site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site",
            "Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/_aws/execute-api/", "/_aws/execute-api//", "/_aws/execute-api//x"):
        assert not p.is_data_plane(req("POST", path))
        assert verdict(req("POST", path, headers=site, query={"Action": "CreateStack"})).kind == "cross-site"
    img = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    assert not verdict(req("GET", "/_aws/execute-api/", headers=img, query={"Action": "Publish"})).allowed
    assert p.is_data_plane(req("POST", "/_aws/execute-api/abc123/dev/items"))
    api_host = {**site, "Host": f"x.execute-api.localhost:{PORT}"}
    for path in ("/_localstack/health", "/_localstack/chaos/faults", "/_sandbox/reset", "/_aws/sqs/messages"):
        assert not p.is_data_plane(req("POST", path, headers={"Host": f"x.execute-api.localhost:{PORT}"}))
        assert verdict(req("POST", path, headers=api_host)).kind == "cross-site"
    assert verdict(req("POST", "/dev/orders", headers=api_host)).allowed  # the app's API itself
    for region in ("me-south-1", "af-south-1", "il-central-1"):  # real, but not in LocalStack's router
        host = f"a.lambda-url.{region}.localhost:{PORT}"
        assert not p.is_data_plane(req("POST", "/2015-03-31/functions", headers={"Host": host}))
    assert p.is_data_plane(req("GET", "/", headers={"Host": f"a.lambda-url.eu-central-1.localhost:{PORT}"}))


@pytest.mark.parametrize("host", ["[::1].evil.com", "[::1]:x", "[::1", f"127.0.0.1:{PORT}:80", "localhost:abc"])
def test_malformed_hosts_are_refused(host):
    assert verdict(req(headers={"Host": host})).kind == "host"


def test_a_sniffed_signature_does_not_carry_another_body():
    """The replay of the adversarial review: the signed headers of a sniffed request, a new body, and
    `x-amz-content-sha256` naming the sniffed body's hash (added, since botocore does not sign it for Lambda)."""
    import hashlib

    body = b'{"ZipFile": "benign"}'
    view, raw, payload = signed("PUT", "http://10.0.0.1:4566/2015-03-31/functions/f/code", "lambda", body)
    assert sigv4.verify(view, TOKEN, raw, body=lambda: payload)
    forged = p.Request(view.method, view.path, {**view.headers, "X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()},
                       remote_addr=view.remote_addr)
    assert not sigv4.verify(forged, TOKEN, raw, body=lambda: b'{"ZipFile": "attacker"}')
    # S3 signs the header: a body that does not match it, or an unsigned payload, is refused
    view, raw, payload = signed("PUT", "http://10.0.0.1:4566/bucket/code.zip", "s3", b"benign", auth_class=S3SigV4Auth)
    assert sigv4.verify(view, TOKEN, raw, body=lambda: payload)
    assert not sigv4.verify(view, TOKEN, raw, body=lambda: b"attacker")


def test_presigned_urls_live_at_most_a_week():
    creds = Credentials(sigv4.remote_key_id(TOKEN), TOKEN)
    request = AWSRequest(method="GET", url="http://10.0.0.1:4566/bucket/key.txt", headers={})
    S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=10**9).add_auth(request)
    view = p.Request("GET", "/bucket/key.txt", {"Host": "10.0.0.1:4566"}, remote_addr="192.168.1.20")
    assert not sigv4.verify(view, TOKEN, request.url.split("4566", 1)[1], body=lambda: b"")


def test_header_names_match_in_any_case_with_plain_and_werkzeug_headers():
    """The gateway passes werkzeug's case-insensitive Headers (headers_ignore_case: one search); a plain dict is
    searched again without case. A cross-site request is refused either way, whatever the case of its Origin."""
    from werkzeug.datastructures import Headers

    raw = [("host", f"127.0.0.1:{PORT}"), ("ORIGIN", "https://evil.example"), ("Content-Type", "application/json")]
    plain = p.Request("POST", "/", dict(raw))
    werkzeug = p.Request("POST", "/", Headers(raw), headers_ignore_case=True)
    for view in (plain, werkzeug):
        assert view.header("Origin") == "https://evil.example" and view.header("content-type") == "application/json"
        assert view.header("Referer") is None
        decision = p.decide(view, POLICY)
        assert not decision.allowed and "cross-site" in decision.reason


def test_the_host_checks_keep_short_answers_only_and_answer_long_values_alike():
    """The address and Host checks keep their answers (speed); a value longer than a host name is answered the same
    way and not kept, so a stream of 64 KB Host headers holds no memory."""
    long_local, long_foreign = "a" * 70000 + ".localhost", "a" * 70000 + ".example.com"
    p.split_host.cache_clear()
    p._is_local_host.cache_clear()
    for _ in range(2):
        assert p.is_local_host("127.0.0.1:4566") and p.is_local_host("LocalHost") and not p.is_local_host("evil.com")
        assert p.is_local_host(long_local) and not p.is_local_host(long_foreign)
        assert p.split_host(long_foreign) == long_foreign and p.split_host("[::1]:80") == "::1"
    assert p._is_local_host.cache_info().currsize == 3 and p._is_local_host.cache_info().hits == 3
    assert p.split_host.cache_info().currsize < 10, "a long value was kept"
    assert p.is_loopback_address(None) and p.is_loopback_address("127.0.0.2") and not p.is_loopback_address("10.0.0.1")
    assert p.is_local_host("svc.laptop:80", {"laptop"}) and not p.is_local_host("svc.laptop:80", frozenset())


def test_the_python_api_sends_its_token_to_the_sandbox_only_not_to_an_apps_api():
    """`Sandbox.http` added X-Sandbox-Token to every request: an app's API behind API Gateway got it in its event's
    headers (a review found it in fat-lambda's). It goes to the control endpoints, and everywhere on a remote sandbox
    (which authenticates every request)."""
    import requests

    from sandbox.api import _TokenAuth

    class Holder:
        token = "tok-123"

    auth = _TokenAuth(Holder())

    def sent(url: str) -> bool:
        return TOKEN in auth(requests.Request("GET", url).prepare()).headers.values()

    TOKEN = "tok-123"
    assert sent("http://127.0.0.1:4566/_sandbox/reset") and sent("http://127.0.0.1:4566/_localstack/chaos/faults")
    assert not sent("http://127.0.0.1:4566/_aws/execute-api/abc/Prod/items")
    assert not sent("http://abc.lambda-url.us-east-1.localhost:4566/")
    assert sent("http://192.168.1.5:4566/_aws/execute-api/abc/Prod/items")  # remote: every request authenticates
