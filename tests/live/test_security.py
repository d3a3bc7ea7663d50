"""Every attack of issue #10, reproduced against the embedded sandbox (loopback only), and refused.

Each test also checks that the attack had no effect (no queue, topic, stack, function or object created; the
handler did not run) and that the legitimate way still works: AWS SDKs (boto3, the JavaScript SDK v3), the AWS
CLI and awslocal, presigned S3 URLs opened in a browser or with curl, and the sandbox's own clients.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import psutil
import pytest
import requests

from sandbox import Sandbox, Settings
from sandbox.embedded import free_port

BIN = Path(sys.executable).parent
NODE_MODULES = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment" / "node_runtime" / "node_modules"
# What a browser sends with `<img src=... referrerpolicy=no-referrer>` / a no-cors fetch from another site
IMG_FROM_ANOTHER_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
SIGV4_SHAPE = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, "
               "Signature=0000000000000000000000000000000000000000000000000000000000000000")


@pytest.fixture
def raw(sb):
    """A plain HTTP session to the sandbox: no SDK, no token, nothing a web page could not send."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def refused(resp: requests.Response, kind: str) -> bool:
    return resp.status_code in (401, 403) and resp.headers.get("X-Sandbox-Refused") == kind


# --- 1. listening sockets ---------------------------------------------------------------------------------------

def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def test_every_listening_socket_of_the_sandbox_is_loopback(sb, helpers):
    py = helpers.create_function(sb, "def handler(e, c):\n    return 1\n")
    node = helpers.create_function(sb, {"index.mjs": "export const handler = async () => 2;\n"},
                                   handler="index.handler", runtime="nodejs20.x")
    assert helpers.invoke(sb, py)[0] == 1 and helpers.invoke(sb, node)[0] == 2  # both environments are up
    inst = sb.embedded.instance()
    listening, processes = [], _tree(inst.pid)
    for proc in processes:
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN or conn.type == 2:  # TCP listeners and bound UDP sockets
                    listening.append((proc.pid, proc.name(), conn.laddr.ip, conn.laddr.port))
        except psutil.NoSuchProcess:
            continue
    assert any(port == inst.port for _, _, _, port in listening), listening  # the gateway itself is seen
    assert len([p for p in processes if "node" in p.name()]) >= 1  # and the Node environment's invoke server
    outside = [entry for entry in listening if not entry[2].startswith("127.") and entry[2] != "::1"]
    assert outside == [], f"sockets listening beyond loopback: {outside}"


# --- 2. a web page the user visits ------------------------------------------------------------------------------

def test_cross_site_gets_cannot_create_a_stack_or_run_code(sb, raw):
    """The chain that ran attacker code: CreateStack with an inline function, CreateTopic, Subscribe, Publish."""
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.13", "Handler": "index.handler", "Role": "arn:aws:iam::000000000000:role/r",
        "Code": {"ZipFile": "import pathlib\ndef handler(e, c):\n    pathlib.Path('/tmp/pwned').touch()\n"}}}}}
    calls = [
        {"Action": "CreateStack", "StackName": "evil", "TemplateBody": json.dumps(template)},
        {"Action": "CreateTopic", "Name": "evil"},
        {"Action": "Subscribe", "TopicArn": "arn:aws:sns:us-east-1:000000000000:evil", "Protocol": "lambda",
         "Endpoint": "arn:aws:lambda:us-east-1:000000000000:function:evil"},
        {"Action": "Publish", "TopicArn": "arn:aws:sns:us-east-1:000000000000:evil", "Message": "go"},
        {"Action": "CreateQueue", "QueueName": "evil"},
    ]
    for params in calls:
        page = raw.get(sb.endpoint, params=params, headers=IMG_FROM_ANOTHER_SITE, timeout=10)
        assert refused(page, "cross-site"), (params["Action"], page.status_code, page.text[:200])
        # a browser without fetch metadata (older Safari): no Origin, no Referer, no Sec-Fetch-*
        old_browser = raw.get(sb.endpoint, params=params, timeout=10)
        assert refused(old_browser, "unsigned"), (params["Action"], old_browser.status_code)
    assert sb.client("cloudformation").describe_stacks()["Stacks"] == []
    assert sb.client("sns").list_topics()["Topics"] == []
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []
    assert sb.client("lambda").list_functions()["Functions"] == []


def test_cross_site_form_posts_are_refused(sb, raw):
    sb.client("s3").create_bucket(Bucket="media-uploads")
    form = raw.post(sb.endpoint, data={"Action": "CreateQueue", "QueueName": "evil"},
                    headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert refused(form, "cross-site")
    upload = raw.post(f"{sb.endpoint}/media-uploads", files={"key": (None, "upload.mp4"), "file": ("x", b"data")},
                      headers={"Origin": "https://evil.example"}, timeout=10)
    assert refused(upload, "cross-site")
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []
    assert sb.client("s3").list_objects_v2(Bucket="media-uploads").get("KeyCount") == 0


def test_a_page_cannot_reach_the_services_or_localstack_through_an_apis_door(sb, raw):
    """Found by a security probe: the guard let `/_aws/execute-api/...` and every path of an `*.execute-api.*` host
    through as an app's API, but LocalStack routes `/_aws/execute-api/` (no API id) to its services - a page's form
    or <img> created a stack that ran code - and serves `/_localstack/*` (health `kill`, the chaos API) on any host."""
    site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    for path in ("/_aws/execute-api/", "/_aws/execute-api//"):
        form = raw.post(f"{sb.endpoint}{path}", data={"Action": "CreateQueue", "QueueName": "evil"}, headers=site,
                        timeout=10)
        assert refused(form, "cross-site"), (path, form.status_code, form.text[:200])
        img = raw.get(f"{sb.endpoint}{path}", params={"Action": "CreateQueue", "QueueName": "evil"},
                      headers=IMG_FROM_ANOTHER_SITE, timeout=10)
        assert refused(img, "cross-site"), (path, img.status_code, img.text[:200])
    api_host = {**site, "Host": f"x.execute-api.localhost:{sb.settings.port}", "Content-Type": "text/plain"}
    chaos = raw.post(f"{sb.endpoint}/_localstack/chaos/effects", data=json.dumps({"latency": 0}), headers=api_host,
                     timeout=10)
    assert refused(chaos, "cross-site"), (chaos.status_code, chaos.text[:200])
    health = raw.post(f"{sb.endpoint}/_localstack/health", data="{}", headers=api_host, timeout=10)
    assert refused(health, "cross-site"), (health.status_code, health.text[:200])
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []
    assert sb.is_running()


def test_a_page_cannot_call_an_aws_iam_function_url_with_a_made_up_query_signature(sb, raw, helpers):
    """The function URL's AWS_IAM check took any `X-Amz-Signature` in the query as a signature: an <img> ran the
    function. A presigned query counts only without another site's signals (it is not verified)."""
    lam = sb.client("lambda")
    fn = helpers.create_function(sb, "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ran'}\n")
    url = urllib.parse.urlsplit(lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")["FunctionUrl"])
    target = f"http://127.0.0.1:{url.port}/"
    presigned = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": "test/20260101/us-east-1/lambda/aws4_request",
                 "X-Amz-Date": "20260101T000000Z", "X-Amz-Signature": "00"}
    for query in ({"X-Amz-Signature": "x"}, presigned):
        img = raw.get(target, params=query, headers={**IMG_FROM_ANOTHER_SITE, "Host": url.netloc}, timeout=30)
        assert (img.status_code, img.text) == (403, '{"Message":"Forbidden"}'), query
    partial = raw.get(target, params={"X-Amz-Signature": "x"}, headers={"Host": url.netloc}, timeout=30)
    assert partial.status_code == 403  # a signature is a whole presigned query
    tool = raw.get(target, params=presigned, headers={"Host": url.netloc}, timeout=30)
    assert (tool.status_code, tool.text) == (200, "ran")  # a presigned URL from a script or pasted in a tab


# --- 3. DNS rebinding -------------------------------------------------------------------------------------------

def test_a_rebinding_page_gets_nothing(sb, raw, helpers):
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 1\n")
    evil = {"Host": f"evil.example:{sb.settings.port}"}
    for path in ("/_sandbox/info", "/_sandbox/events", "/2015-03-31/functions/", f"/2015-03-31/functions/{fn}",
                 "/_localstack/health"):
        resp = raw.get(sb.endpoint + path, headers=evil, timeout=10)
        assert refused(resp, "host"), (path, resp.status_code)
        assert fn not in resp.text
    chain = raw.get(sb.endpoint, params={"Action": "CreateTopic", "Name": "rebound"}, timeout=10,
                    headers={**evil, "Authorization": SIGV4_SHAPE})
    assert refused(chain, "host")
    assert sb.client("sns").list_topics()["Topics"] == []
    # the sandbox's own names still work
    for host in (f"127.0.0.1:{sb.settings.port}", f"localhost:{sb.settings.port}", f"s3.localhost:{sb.settings.port}"):
        assert raw.get(sb.endpoint + "/_sandbox/info", headers={"Host": host}, timeout=10).ok, host


# --- 4. origins LocalStack trusts by default --------------------------------------------------------------------

def test_localstacks_default_origins_are_not_trusted(sb, raw, helpers):
    origin = {"Origin": "https://app.localstack.cloud"}
    preflight = raw.options(f"{sb.endpoint}/2015-03-31/functions", timeout=10, headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert refused(preflight, "cross-site")
    assert "Access-Control-Allow-Origin" not in preflight.headers
    create = raw.post(f"{sb.endpoint}/2015-03-31/functions", timeout=10,
                      headers={**origin, "Authorization": SIGV4_SHAPE, "Content-Type": "application/json"},
                      data=json.dumps({"FunctionName": "evil", "Runtime": "python3.13", "Handler": "a.b",
                                       "Role": helpers.ROLE, "Code": {"ZipFile": ""}}))
    assert refused(create, "cross-site")
    assert "Access-Control-Allow-Credentials" not in create.headers
    assert sb.client("lambda").list_functions()["Functions"] == []


def test_an_allowed_local_web_app_may_call_the_sandbox(sb, raw):
    """`sandbox up --allow-origin http://localhost:5173` (set for the test session): preflight and call pass."""
    origin = "http://localhost:5173"
    assert origin in sb.embedded.instance().allowed_origins
    preflight = raw.options(f"{sb.endpoint}/_sandbox/info", headers={"Origin": origin,
                                                                   "Access-Control-Request-Method": "GET"}, timeout=10)
    assert preflight.status_code in (200, 204)
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    info = raw.get(f"{sb.endpoint}/_sandbox/info", headers={"Origin": origin}, timeout=10)
    assert info.ok and info.headers.get("Access-Control-Allow-Origin") == origin


# --- 5. the environments' invoke servers and runtime callbacks ---------------------------------------------------

COUNTER = """
import pathlib
def handler(event, context):
    marker = pathlib.Path('/tmp/runs')
    runs = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(runs))
    return {"runs": runs, "event": event}
"""


def _invoke_port(sb, function_name: str) -> int:
    """The port the function's runtime process listens on for invocations (what a local attacker would scan)."""
    inst = sb.embedded.instance()
    for proc in _tree(inst.pid):
        try:
            conns = proc.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        for conn in conns:
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port != inst.port and proc.pid != inst.pid:
                return conn.laddr.port
    raise AssertionError(f"no invoke server found for {function_name}")


def test_forged_invocations_are_refused_and_the_environment_survives(sb, helpers):
    fn = helpers.create_function(sb, COUNTER)
    assert helpers.invoke(sb, fn, {"n": 1})[0]["runs"] == 1
    port = _invoke_port(sb, fn)
    url = f"http://127.0.0.1:{port}/invoke"
    forged = json.dumps({"invoke-id": "forged-1", "payload": json.dumps({"evil": True})})
    session = requests.Session()
    session.trust_env = False
    assert session.post(url, data=forged, timeout=5).status_code == 403  # no secret
    assert session.post(url, data=forged, headers={"X-Sandbox-Invoke-Token": "guess"}, timeout=5).status_code == 403
    assert session.post(url, data="{}", timeout=5).status_code == 403  # once killed the environment
    try:  # a body larger than any invocation: answered without being read, or the connection is dropped
        assert session.post(url, data=forged, timeout=5,
                            headers={"Content-Length": "999999999"}).status_code in (403, 413)
    except requests.ConnectionError:
        pass
    result = helpers.invoke(sb, fn, {"n": 2})[0]
    assert result == {"runs": 2, "event": {"n": 2}}  # the forged ones never ran, the environment lived on


def test_forged_runtime_callbacks_are_refused(sb, helpers, raw):
    fn = helpers.create_function(sb, "import time\ndef handler(e, c):\n    time.sleep(1.5)\n    return 'real'\n")
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(helpers.invoke, sb, fn)
        helpers.wait_for(lambda: list((sb.settings.state_dir / "lambda" / "envs").glob("*/confinement.json")),
                         message="the environment to start")
        env_id = next((sb.settings.state_dir / "lambda" / "envs").iterdir()).name
        time.sleep(0.5)
        for what in ("invocations/x/response", "invocations/x/error", f"status/{env_id}/ready"):
            resp = raw.post(f"{sb.endpoint}/_localstack_lambda/{env_id}/{what}", data=b'"forged"', timeout=5)
            assert resp.status_code == 403, (what, resp.status_code)
        assert pending.result(timeout=30)[0] == "real"


# --- 6. what a handler can reach ---------------------------------------------------------------------------------

CONTAINMENT_PY = """
import os, pathlib, signal, socket
def handler(event, context):
    out = {}
    try:
        socket.create_connection(("10.255.255.1", 80), timeout=2)
        out["connect"] = "connected"
    except OSError as e:
        out["connect"] = str(e)
    try:
        socket.getaddrinfo("example.com", 443)
        out["dns"] = "resolved"
    except OSError as e:
        out["dns"] = str(e)
    try:
        out["environ"] = pathlib.Path(f"/proc/{event['pid']}/environ").read_bytes().decode(errors="replace")
    except OSError as e:
        out["environ"] = type(e).__name__
    try:
        out["secret"] = pathlib.Path(event["secret"]).read_text()
    except OSError as e:
        out["secret"] = type(e).__name__
    try:
        os.kill(event["pid"], 0)
        out["signal"] = "delivered"
    except OSError as e:
        out["signal"] = type(e).__name__
    out["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    pathlib.Path("/tmp/mine").write_text("x")
    out["tmp"] = sorted(os.listdir("/tmp"))
    out["bind"] = "ok"
    try:
        socket.socket().bind(("0.0.0.0", 0))
        out["bind"] = "bound to every interface"
    except OSError as e:
        out["bind"] = str(e)
    unbound = socket.socket()
    unbound.listen(1)  # the kernel would bind it to every interface
    out["listen"] = unbound.getsockname()[0]
    try:
        socket.getaddrinfo("leak-via-dns.localhost", 80)  # the C library asks the DNS server about *.localhost
        out["localhost_subdomain"] = "resolved"
    except OSError as e:
        out["localhost_subdomain"] = str(e)
    try:
        os.chmod(event["secret"], 0o644)
        out["chmod"] = "changed"
    except OSError as e:
        out["chmod"] = type(e).__name__
    return out
"""

CONTAINMENT_NODE = """
import fs from "node:fs";
import net from "node:net";
import dns from "node:dns/promises";
export const handler = async (event) => {
  const out = {};
  out.connect = await new Promise((resolve) => {
    const s = net.connect(80, "10.255.255.1", () => resolve("connected"));
    s.on("error", (e) => resolve(e.message));
  });
  try { await fetch("http://93.184.215.14/"); out.fetch = "fetched"; } catch (e) { out.fetch = String(e.cause?.message || e); }
  try { await dns.lookup("example.com"); out.dns = "resolved"; } catch (e) { out.dns = e.message; }
  try { out.environ = fs.readFileSync(`/proc/${event.pid}/environ`, "utf8"); } catch (e) { out.environ = e.code; }
  try { out.secret = fs.readFileSync(event.secret, "utf8"); } catch (e) { out.secret = e.code; }
  out.processes = fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).length;
  out.listen = await new Promise((resolve) => {
    const server = net.createServer();
    server.listen(" 0", () => { const { address } = server.address(); server.close(); resolve(address); });
  });
  try { process.binding("tcp_wrap"); out.binding = "opened"; } catch (e) { out.binding = e.message; }
  out.environ = out.environ + "|" + fs.readFileSync("/proc/self/environ", "utf8").includes("SANDBOX_INVOKE_TOKEN=");
  try { fs.chmodSync(event.secret, 0o644); out.chmod = "changed"; } catch (e) { out.chmod = e.code; }
  return out;
};
"""


@pytest.fixture
def host_secret():
    """A credentials file outside anything a function may read (as ~/.aws/credentials would be)."""
    folder = Path("/var/tmp") / f"sandbox-secret-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    secret = folder / "credentials"
    secret.write_text("[default]\naws_secret_access_key = host-secret-should-not-leak\n")
    secret.chmod(0o600)
    yield secret
    shutil.rmtree(folder, ignore_errors=True)


def test_a_python_handler_is_contained(sb, helpers, host_secret, tmp_path):
    host_marker = Path("/tmp") / f"sandbox-host-file-{tmp_path.name}"
    host_marker.write_text("the host's /tmp")
    fn = helpers.create_function(sb, CONTAINMENT_PY)
    out, _ = helpers.invoke(sb, fn, {"pid": os.getpid(), "secret": str(host_secret)})
    assert "not allowed" in out["connect"] and "not allowed" in out["dns"], out
    # this test process holds host credentials in its environment (conftest.HOST_SECRETS): not readable
    assert "host-secret-should-not-leak" not in out["environ"] and out["environ"] in (
        "FileNotFoundError", "PermissionError"), out["environ"]
    assert out["secret"] == "PermissionError"
    assert out["signal"] in ("ProcessLookupError", "PermissionError")
    assert os.getpid() not in out["processes"] and len(out["processes"]) <= 3  # its own processes only
    host_marker.unlink()
    assert "mine" in out["tmp"] and host_marker.name not in out["tmp"]  # a /tmp of its own, as on AWS
    assert "not allowed" in out["bind"]
    assert out["listen"] == "127.0.0.1" and "not allowed" in out["localhost_subdomain"], out
    assert out["chmod"] == "OSError" and oct(host_secret.stat().st_mode)[-3:] == "600"  # read-only mounts
    confinement = sb.info()["lambda_confinement"]
    assert {"user+pid namespaces", "landlock", "private /proc and /tmp"} <= set(confinement["applied"]), confinement


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_a_node_handler_is_contained(sb, helpers, host_secret):
    fn = helpers.create_function(sb, {"index.mjs": CONTAINMENT_NODE}, handler="index.handler", runtime="nodejs20.x")
    out, _ = helpers.invoke(sb, fn, {"pid": os.getpid(), "secret": str(host_secret)})
    assert "not allowed" in out["connect"] and "not allowed" in out["fetch"] and "not allowed" in out["dns"], out
    assert out["environ"] in ("ENOENT|false", "EACCES|false") and out["secret"] == "EACCES", out
    assert out["processes"] <= 2 and out["listen"] == "127.0.0.1" and "not allowed" in out["binding"], out
    assert out["chmod"] == "EROFS" and oct(host_secret.stat().st_mode)[-3:] == "600", out


def test_a_function_may_still_use_the_sandbox_and_local_services(sb, helpers):
    import socketserver
    import threading

    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"pong")

    server = socketserver.TCPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = ("import boto3, socket\n"
            "def handler(event, context):\n"
            "    boto3.client('s3').create_bucket(Bucket='made-by-a-function')\n"
            "    s = socket.create_connection(('127.0.0.1', event['port']))\n"
            "    return s.recv(4).decode()\n")
    try:
        fn = helpers.create_function(sb, code)
        assert helpers.invoke(sb, fn, {"port": server.server_address[1]})[0] == "pong"
    finally:
        server.shutdown()
    assert "made-by-a-function" in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


FORGER = """
import boto3, botocore.auth, botocore.awsrequest, json, os, urllib.request
def handler(event, context):
    # a function holds credentials, so it can sign anything: the sandbox's own endpoints must want the token
    out = {}
    for path, body in (("/_localstack/chaos/faults", "[]"), ("/_sandbox/reset", "{}"),
                       ("/_localstack/health", json.dumps({"action": "kill"}))):
        request = botocore.awsrequest.AWSRequest("POST", os.environ["AWS_ENDPOINT_URL"] + path, data=body)
        botocore.auth.SigV4Auth(boto3.Session().get_credentials(), "sqs", "us-east-1").add_auth(request)
        try:
            with urllib.request.urlopen(urllib.request.Request(request.url, data=body.encode(),
                                        headers=dict(request.headers), method="POST"), timeout=10) as resp:
                out[path] = resp.status
        except urllib.error.HTTPError as e:
            out[path] = e.code
    return out
"""


def test_a_function_cannot_stop_or_empty_the_sandbox_with_its_credentials(sb, helpers):
    """A made-up SigV4 signature was enough on /_localstack/health (kill), /_sandbox/reset and the chaos API."""
    bucket = helpers.unique("kept")
    sb.client("s3").create_bucket(Bucket=bucket)
    fn = helpers.create_function(sb, FORGER)
    out, _ = helpers.invoke(sb, fn)
    assert out == {"/_localstack/chaos/faults": 403, "/_sandbox/reset": 403, "/_localstack/health": 403}, out
    assert sb.is_running() and bucket in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


# --- 7. no process outlives the sandbox ---------------------------------------------------------------------------

ESCAPER = """
import os, subprocess, sys, time
def handler(event, context):
    subprocess.Popen([sys.executable, "-S", "-c", "import time; time.sleep(600)", event["marker"]],
                     start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(600)", event["marker"]])
        os._exit(0)
    time.sleep(0.3)
    return "escaped?"
"""


def _marked(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_children_that_escape_their_handler_die_with_the_environment(sb, helpers, tmp_path):
    marker = f"escaper-{tmp_path.name}"
    fn = helpers.create_function(sb, ESCAPER)
    assert helpers.invoke(sb, fn, {"marker": marker})[0] == "escaped?"
    assert len(_marked(marker)) == 2
    sb.reset()
    helpers.wait_for(lambda: not _marked(marker), timeout=10, message="the escaped children to be stopped")


@pytest.mark.live  # starts a LocalStack of its own
def test_kill_9_of_localstack_leaves_nothing_behind(tmp_path, helpers):
    """Everything a killed sandbox started goes with it; the next `down` finds nothing left running."""
    state = Path("/var/tmp") / f"sandbox-kill9-{tmp_path.name}"
    settings = Settings(state_dir=state, port=free_port(), endpoint=None)
    other = Sandbox(settings)
    other.up(timeout=120)
    marker = f"kill9-{tmp_path.name}"
    try:
        fn = helpers.create_function(other, ESCAPER)
        assert helpers.invoke(other, fn, {"marker": marker})[0] == "escaped?"
        started = [r for r in other.embedded.registry.alive()]
        assert {r.kind for r in started} >= {"localstack", "lambda", "lambda-runtime", "lambda-zygote"}
        assert len(_marked(marker)) == 2
        os.kill(other.embedded.instance().pid, signal.SIGKILL)
        helpers.wait_for(lambda: not _marked(marker) and not any(r.is_alive() for r in started), timeout=15,
                         message="every process of the killed sandbox to be gone")
        assert other.down()["leftovers"] == []
    finally:
        for proc in _marked(marker):
            proc.kill()
        if other.embedded.instance():
            other.down()
        shutil.rmtree(state, ignore_errors=True)


# --- 8. limits ---------------------------------------------------------------------------------------------------

def test_a_response_over_6_mb_fails_as_on_aws(sb, helpers):
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 'x' * (e['mb'] * 1024 * 1024)\n")
    body, resp = helpers.invoke(sb, fn, {"mb": 7})
    assert resp.get("FunctionError") == "Unhandled"
    assert body == {"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge"}
    assert len(helpers.invoke(sb, fn, {"mb": 5})[0]) == 5 * 1024 * 1024  # under the limit: fine


def test_a_function_over_its_memory_size_is_killed_as_on_aws(sb, helpers):
    code = ("def handler(e, c):\n"
            "    blob = bytearray(e['mb'] * 1024 * 1024)\n"
            "    blob[::4096] = b'x' * len(blob[::4096])\n"
            "    return len(blob) // (1024 * 1024)\n")
    fn = helpers.create_function(sb, code, MemorySize=128, timeout=30)
    body, resp = helpers.invoke(sb, fn, {"mb": 400})
    assert resp.get("FunctionError") == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert "Runtime exited with error: signal: killed" in body["errorMessage"]
    report = helpers.wait_for(lambda: [line for line in helpers.log_text(sb, fn).splitlines()
                                       if line.startswith("REPORT") and "OutOfMemory" in line], message="the REPORT")
    assert "Max Memory Used: 128 MB" in report[0] and "Error Type: Runtime.OutOfMemory" in report[0]
    assert helpers.invoke(sb, fn, {"mb": 8})[0] == 8  # a fresh environment takes the next one
    # memory that is in no resident set: a memory file (memfd_create), written but not mapped
    memfd = helpers.create_function(sb, "import os\ndef handler(e, c):\n    fd = os.memfd_create('x')\n"
                                        "    for _ in range(e['mb']):\n        os.write(fd, b'x' * 1048576)\n"
                                        "    return e['mb']\n", MemorySize=128, timeout=30)
    body, resp = helpers.invoke(sb, memfd, {"mb": 400})
    assert body.get("errorType") == "Runtime.OutOfMemory", body
    big = helpers.create_function(sb, code, MemorySize=1024, timeout=30)
    assert helpers.invoke(sb, big, {"mb": 400})[0] == 400  # the same work fits a 1 GB function


# --- the tools that must keep working ----------------------------------------------------------------------------

def _tool_env(sb) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sb.aws_env())
    return env


def test_aws_cli_and_awslocal_work(sb):
    env = _tool_env(sb)
    # after `eval "$(sandbox env)"`, no --endpoint-url: AWS CLI v1 forces SQS to queue.amazonaws.com otherwise
    made = subprocess.run([str(BIN / "aws"), "sqs", "create-queue", "--queue-name", "from-aws-cli"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    listed = subprocess.run([str(BIN / "awslocal"), "sqs", "list-queues"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0 and "from-aws-cli" in listed.stdout, listed.stderr
    assert listed.stderr.strip() == "", "awslocal's deprecation banner on every call"


@pytest.mark.skipif(not shutil.which("node") or not NODE_MODULES.is_dir(), reason="needs node and the bundled SDK")
def test_the_javascript_sdk_works(sb, tmp_path):
    script = tmp_path / "sdk.cjs"
    script.write_text(
        "const { SQSClient, CreateQueueCommand, SendMessageCommand } = require('@aws-sdk/client-sqs');\n"
        "const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL, region: 'us-east-1' });\n"
        "(async () => {\n"
        "  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'from-js-sdk' }));\n"
        "  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hi' }));\n"
        "})().catch((e) => { console.error(e); process.exit(1); });\n")
    env = _tool_env(sb)
    env["NODE_PATH"] = str(NODE_MODULES)
    done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=60,
                          cwd=NODE_MODULES.parent)
    assert done.returncode == 0, done.stderr
    url = sb.client("sqs").get_queue_url(QueueName="from-js-sdk")["QueueUrl"]
    assert sb.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hi"


def test_presigned_urls_work_in_a_browser_and_with_curl(sb, raw):
    s3 = sb.client("s3")
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="report.txt", Body=b"quarterly")
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "report.txt"})
    assert raw.get(get_url, timeout=10).content == b"quarterly"  # curl
    clicked = raw.get(get_url, timeout=10, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
                                                    "Sec-Fetch-Dest": "document", "Referer": "https://chat.example/"})
    assert clicked.content == b"quarterly"  # a link clicked in a chat
    typed = raw.get(get_url, timeout=10, headers={"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"})
    assert typed.content == b"quarterly"  # pasted into the address bar
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "up.txt"})
    assert raw.put(put_url, data=b"uploaded", timeout=10).ok  # curl -T
    post = s3.generate_presigned_post("shared", "form.txt")
    assert raw.post(post["url"], data=post["fields"], files={"file": ("form.txt", b"posted")}, timeout=10).ok
    assert s3.get_object(Bucket="shared", Key="up.txt")["Body"].read() == b"uploaded"
    assert s3.get_object(Bucket="shared", Key="form.txt")["Body"].read() == b"posted"


def test_refusals_are_explained_and_counted(sb, raw):
    before = sb.info()["refused_requests"]["total"]
    resp = raw.post(f"{sb.endpoint}/_sandbox/reset", timeout=10)
    assert resp.status_code == 403 and "X-Sandbox-Token" in resp.json()["message"]
    info = sb.info()["refused_requests"]
    assert info["total"] == before + 1 and info["recent"][-1]["path"] == "/_sandbox/reset"
    # the sandbox's own client carries the token
    assert sb.reset()["reset"]
    # an SDK gets the reason as its error message
    from botocore.exceptions import ClientError

    lam = sb.client("lambda", read_timeout=30)  # a client of its own (with kwargs it is not the cached one)
    lam.meta.events.register("before-send.lambda.ListFunctions",
                             lambda request, **_: request.headers.__setitem__("Host", "evil.example"))
    with pytest.raises(ClientError, match="is not this machine"):
        lam.list_functions()


# --- --allow-remote ----------------------------------------------------------------------------------------------

def _lan_address() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name == "AF_INET" and not address.address.startswith("127."):
                return address.address
    return None


@pytest.mark.skipif(_lan_address() is None, reason="no network interface besides loopback")
@pytest.mark.live  # starts a LocalStack of its own
def test_allow_remote_serves_the_network_only_to_token_holders(tmp_path):
    state = Path("/var/tmp") / f"sandbox-remote-{tmp_path.name}"
    settings = Settings(state_dir=state, port=free_port(), endpoint=None, allow_remote=True)
    host = Sandbox(settings)
    host.up(timeout=120)
    try:
        lan = _lan_address()
        url = f"http://{lan}:{settings.port}"
        session = requests.Session()
        session.trust_env = False
        anonymous = session.get(f"{url}/_sandbox/info", timeout=10)
        assert anonymous.status_code == 401 and "sandbox env --remote" in anonymous.text
        dummy = session.get(f"{url}/2015-03-31/functions/", timeout=10, headers={"Authorization": SIGV4_SHAPE})
        assert dummy.status_code == 401
        assert session.get(f"{url}/_sandbox/info", headers={"X-Sandbox-Token": host.token}, timeout=10).ok
        # a remote client with the exports `sandbox env --remote` prints
        exports = host.aws_env(remote_host=lan)
        remote = Sandbox(Settings(state_dir=tmp_path / "client", endpoint=exports["SANDBOX_ENDPOINT"],
                                  allow_remote=True, token=exports["SANDBOX_TOKEN"]))
        remote.client("sqs").create_queue(QueueName="made-remotely")
        remote.client("s3").create_bucket(Bucket="remote-bucket")
        remote.client("s3").put_object(Bucket="remote-bucket", Key="a b+c.txt", Body=b"x")
        assert "made-remotely" in host.client("sqs").list_queues()["QueueUrls"][0]
        wrong = Sandbox(Settings(state_dir=tmp_path / "client2", endpoint=exports["SANDBOX_ENDPOINT"],
                                 allow_remote=True, token="not-the-token"))
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError):
            wrong.client("sqs").list_queues()
        listeners = [c.laddr.ip for c in psutil.Process(host.embedded.instance().pid).net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == settings.port]
        assert listeners == ["0.0.0.0"]
    finally:
        host.down()
        shutil.rmtree(state, ignore_errors=True)


def test_an_apps_html_is_served_without_the_sandboxs_origin(sb, raw):
    """An app's page (or an XSS in it) at /_aws/execute-api/... would otherwise be a page of the sandbox's origin."""
    api = sb.deploy("crud-api").outputs["ApiUrl"]
    page = raw.get(api.rstrip("/") + "/items", timeout=30)
    assert page.ok and "sandbox" in page.headers.get("Content-Security-Policy", "")
    assert page.headers.get("X-Content-Type-Options") == "nosniff"


def test_html_in_a_bucket_is_served_without_the_sandboxs_origin(sb, raw):
    """Opened at http://127.0.0.1:<port>/bucket/page.html it would be a page of the sandbox's own origin."""
    s3 = sb.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="page.html", Body=b"<script>fetch('/_sandbox/reset', {method: 'POST'})</script>",
                  ContentType="text/html")
    page = raw.get(f"{sb.endpoint}/site/page.html", timeout=10)
    assert page.ok and page.headers["Content-Security-Policy"].startswith("sandbox")
    # so its script's requests carry `Origin: null`, and are refused
    assert refused(raw.post(f"{sb.endpoint}/_sandbox/reset", headers={"Origin": "null"}, timeout=10), "cross-site")
