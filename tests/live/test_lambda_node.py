"""Node.js functions on the process executor: bootstrap.mjs (CJS / ESM, async / callback), errors, logs, bundled SDK v3."""

import base64
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.lambda_process import runtimes

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="`node` is not on PATH: Node.js runtimes cannot run")

NPM_CI = "npm ci --prefix sandbox/lambda_process/environment/node_runtime"
needs_sdk = pytest.mark.skipif(
    not runtimes.NODE_MODULES.is_dir(), reason=f"the bundled AWS SDK v3 is not installed (run `{NPM_CI}`)"
)

CJS = """
console.log("init ran", typeof require);
const ENVIRONMENT = require("node:crypto").randomUUID(); // one per environment (in its PID namespace, pid is 1)
exports.handler = async (event, context) => {
  console.log("event", JSON.stringify(event));
  console.error("to stderr");
  console.warn("a warning");
  const action = event.action;
  if (action === "fail") throw new TypeError("boom: " + event.why);
  if (action === "custom") { const e = new Error("custom"); e.name = "ValidationError"; throw e; }
  if (action === "sleep") await new Promise((r) => setTimeout(r, event.seconds * 1000));
  if (action === "exit") process.exit(2);
  if (action === "uncaught") { setTimeout(() => { throw new RangeError("from a timer"); }, 10); await new Promise((r) => setTimeout(r, 1000)); }
  if (action === "reject") { Promise.reject(new Error("nobody catches")); await new Promise((r) => setTimeout(r, 1000)); }
  if (action === "shout") process.stdout.write("y".repeat(10_000_000));
  if (action === "env") return process.env;
  if (action === "circular") { const o = {}; o.self = o; return o; }
  return {
    ok: true, pid: ENVIRONMENT, remaining: context.getRemainingTimeInMillis(), requestId: context.awsRequestId,
    functionName: context.functionName, arn: context.invokedFunctionArn, memory: context.memoryLimitInMB,
    logGroup: context.logGroupName, logStream: context.logStreamName, waits: context.callbackWaitsForEmptyEventLoop,
  };
};
"""

ESM = """
import { readFileSync } from "node:fs";  // a built-in, as ES module import
await Promise.resolve();  // top-level await
export const handler = async (event, context) => ({ esm: true, url: import.meta.url, name: context.functionName, event });
"""


def node_function(sb, helpers, files, handler="index.handler", runtime="nodejs20.x", **kwargs):
    return helpers.create_function(sb, files, handler=handler, runtime=runtime, **kwargs)


def tail(resp) -> str:
    return base64.b64decode(resp["LogResult"]).decode()


def test_cjs_handler_and_context(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS}, MemorySize=256)
    body, resp = helpers.invoke(sb, fn, {"hello": 1})
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp, body
    assert body["ok"] is True and 0 < body["remaining"] <= 5000
    assert body["functionName"] == fn and body["arn"].endswith(f":function:{fn}")
    assert body["memory"] == "256" and body["logGroup"] == f"/aws/lambda/{fn}" and body["logStream"]
    assert body["waits"] is True and body["requestId"] == resp["ResponseMetadata"]["RequestId"]
    again, _ = helpers.invoke(sb, fn)
    assert again["pid"] == body["pid"], "the warm environment is reused"


@pytest.mark.parametrize(
    "files, handler",
    [
        ({"index.mjs": ESM}, "index.handler"),
        ({"app.js": ESM, "package.json": '{"type": "module"}'}, "app.handler"),
        ({"src/handlers/deep.mjs": ESM}, "src/handlers/deep.handler"),
    ],
    ids=["mjs", "package-type-module", "nested-path"],
)
def test_esm_handlers(sb, helpers, files, handler):
    fn = node_function(sb, helpers, files, handler=handler, runtime="nodejs22.x")
    body, resp = helpers.invoke(sb, fn, {"x": 1})
    assert "FunctionError" not in resp, body
    assert body["esm"] is True and body["name"] == fn and body["event"] == {"x": 1}
    assert body["url"].startswith("file://")


def test_nested_cjs_handler_and_nested_export(sb, helpers):
    code = "module.exports = { api: { handler: async (e) => ({ nested: e.n * 2 }) } };"
    fn = node_function(sb, helpers, {"lib/routes.cjs": code}, handler="lib/routes.api.handler")
    body, resp = helpers.invoke(sb, fn, {"n": 21})
    assert body == {"nested": 42}, body


def test_callback_style_waits_for_empty_event_loop(sb, helpers):
    code = """
exports.handler = (event, context, callback) => {
  if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log("timer fired"), event.delay);
  callback(null, { cb: true });
};
"""
    fn = node_function(sb, helpers, {"index.js": code}, timeout=10)
    started = time.monotonic()
    body, resp = helpers.invoke(sb, fn, {"delay": 300}, LogType="Tail")
    assert body == {"cb": True}
    assert time.monotonic() - started >= 0.3 and "timer fired" in tail(resp), "waits for the timer, as AWS does"
    started = time.monotonic()
    body, resp = helpers.invoke(sb, fn, {"delay": 3000, "noWait": True}, LogType="Tail")
    assert body == {"cb": True} and time.monotonic() - started < 2.5
    assert "timer fired" not in tail(resp)


def test_callback_error_and_sync_handler_without_callback(sb, helpers):
    code = """
exports.fails = (event, context, callback) => callback(new Error("via callback"));
exports.fails_with_string = (event, context, callback) => callback("just a string");
exports.sync = (event) => 42;  // neither async nor callback: AWS returns null once the event loop is empty
exports.legacy = (event, context) => context.succeed({ legacy: true });
"""
    lam = sb.client("lambda")
    fn = node_function(sb, helpers, {"index.js": code}, handler="index.fails")
    body, resp = helpers.invoke(sb, fn)
    assert resp["FunctionError"] == "Unhandled" and body["errorType"] == "Error" and body["errorMessage"] == "via callback"
    for handler, expected in [("index.fails_with_string", {"errorType": "string", "errorMessage": "just a string", "trace": []}),
                              ("index.sync", None), ("index.legacy", {"legacy": True})]:
        lam.update_function_configuration(FunctionName=fn, Handler=handler)
        lam.get_waiter("function_updated_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
        body, _ = helpers.invoke(sb, fn)
        assert body == expected, handler


def test_thrown_error_shape_has_no_bootstrap_frames(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS})
    body, resp = helpers.invoke(sb, fn, {"action": "fail", "why": "bad input"}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "TypeError" and body["errorMessage"] == "boom: bad input"
    assert isinstance(body["trace"], list) and body["trace"][0] == "TypeError: boom: bad input"
    trace = "\n".join(body["trace"])
    assert "index.js" in trace and "bootstrap" not in trace
    assert "\tERROR\tInvoke Error \t" in tail(resp)
    body, _ = helpers.invoke(sb, fn, {"action": "custom"})
    assert body["errorType"] == "ValidationError" and body["errorMessage"] == "custom"


def test_import_errors(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": "const x = require('not-a-module-anywhere');\nexports.handler = async () => 1;"})
    body, resp = helpers.invoke(sb, fn)
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError", body
    assert "Cannot find module 'not-a-module-anywhere'" in body["errorMessage"]
    assert "bootstrap" not in body["errorMessage"] and "bootstrap" not in "\n".join(body["trace"])

    esm = node_function(sb, helpers, {"index.mjs": "import x from 'not-a-package-anywhere';\nexport const handler = async () => 1;"})
    body, _ = helpers.invoke(sb, esm)
    assert body["errorType"] == "Runtime.ImportModuleError" and "not-a-package-anywhere" in body["errorMessage"]

    missing_file = node_function(sb, helpers, {"other.js": "exports.handler = async () => 1;"})
    body, _ = helpers.invoke(sb, missing_file)
    assert body["errorType"] == "Runtime.ImportModuleError" and "Cannot find module 'index'" in body["errorMessage"]

    not_exported = node_function(sb, helpers, {"index.js": "exports.other = async () => 1;"})
    body, _ = helpers.invoke(sb, not_exported)
    assert body["errorType"] == "Runtime.HandlerNotFound" and body["errorMessage"] == "index.handler is undefined or not exported"

    syntax = node_function(sb, helpers, {"index.mjs": "export const handler = async () => {;"})
    body, _ = helpers.invoke(sb, syntax)
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"

    throws = node_function(sb, helpers, {"index.js": "throw new RangeError('init failed');"})
    body, resp = helpers.invoke(sb, throws, LogType="Tail")
    assert body["errorType"] == "RangeError" and body["errorMessage"] == "init failed"
    assert "Uncaught Exception" in tail(resp)


def test_sdk_v2_and_unbundled_clients_get_a_hint(sb, helpers):
    code = "exports.handler = async (e) => { require(e.pkg); return 'loaded'; };"
    fn = node_function(sb, helpers, {"index.js": code})
    body, _ = helpers.invoke(sb, fn, {"pkg": "aws-sdk"})
    assert body["errorType"] == "Error" and "v2 (aws-sdk) is not part of" in body["errorMessage"], body
    body, _ = helpers.invoke(sb, fn, {"pkg": "@aws-sdk/client-not-a-service"})
    assert "Cannot find module '@aws-sdk/client-not-a-service'" in body["errorMessage"]
    assert ("npm ci" in body["errorMessage"]), body


def test_timeout_kills_environment_and_next_invoke_is_fresh(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS}, timeout=1)
    before, _ = helpers.invoke(sb, fn)
    body, resp = helpers.invoke(sb, fn, {"action": "sleep", "seconds": 5}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Status: timeout" in tail(resp)
    after, _ = helpers.invoke(sb, fn)
    assert after["ok"] and after["pid"] != before["pid"]


def test_process_exit_is_runtime_exit_error_and_recovers(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS})
    before, _ = helpers.invoke(sb, fn)
    body, resp = helpers.invoke(sb, fn, {"action": "exit"}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError", body
    assert "exit status 2" in body["errorMessage"]
    assert '\tINFO\tevent {"action":"exit"}' in tail(resp), "output before the crash is kept"
    after, _ = helpers.invoke(sb, fn)
    assert after["ok"] is True and after["pid"] != before["pid"]


def crash_then_invoke_at_once(sb, helpers, action: str, error_type: str, message: str, times: int = 3):
    """As on AWS, an error nobody catches fails the invocation and ends the environment; the next invocation, sent
    the moment the error is back, gets a fresh environment. The runtime kills itself once its reply is out and the
    executor waits for that exit; the old process's watcher must not fail the fresh environment's start (it did,
    now and then, under CI's load: tests/unit/test_environment_watch.py forces that order)."""
    fn = node_function(sb, helpers, {"index.js": CJS})
    before, _ = helpers.invoke(sb, fn)
    for _ in range(times):
        body, resp = helpers.invoke(sb, fn, {"action": action})
        assert resp["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type and body["errorMessage"] == message, body
        after, resp = helpers.invoke(sb, fn)
        assert "FunctionError" not in resp and after["ok"] is True, after
        assert after["pid"] != before["pid"], "the crashed environment was reused"
        before = after


def test_uncaught_exception_fails_invocation_and_environment_is_replaced(sb, helpers):
    crash_then_invoke_at_once(sb, helpers, "uncaught", "RangeError", "from a timer")


def test_unhandled_rejection_fails_invocation(sb, helpers):
    crash_then_invoke_at_once(sb, helpers, "reject", "Runtime.UnhandledPromiseRejection", "Error: nobody catches")


def test_unserializable_result(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS})
    body, resp = helpers.invoke(sb, fn, {"action": "circular"})
    assert resp["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.MarshalError"


def test_logs_reach_cloudwatch_in_aws_format(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS})
    _, resp = helpers.invoke(sb, fn, {"marker": "find-me-456"})
    request_id = resp["ResponseMetadata"]["RequestId"]
    text = helpers.wait_for(lambda: "find-me-456" in helpers.log_text(sb, fn) and helpers.log_text(sb, fn),
                            message="the invocation's log lines in CloudWatch Logs")
    assert "\tundefined\tINFO\tinit ran function" in text, text
    assert f"\t{request_id}\tINFO\tevent " in text
    assert f"\t{request_id}\tERROR\tto stderr" in text and f"\t{request_id}\tWARN\ta warning" in text
    assert f"START RequestId: {request_id}" in text and f"END RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}" in text and "Init Duration:" in text and "Max Memory Used:" in text


def test_output_is_capped_per_invocation(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS})
    body, resp = helpers.invoke(sb, fn, {"action": "shout"}, LogType="Tail")
    assert body["ok"] is True
    assert "characters of output were dropped" in tail(resp)
    again, _ = helpers.invoke(sb, fn)
    assert again["ok"] is True


def test_environment(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": CJS}, runtime="nodejs18.x")
    env, _ = helpers.invoke(sb, fn, {"action": "env"})
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs18.x"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    for var, secret in helpers.HOST_SECRETS.items():
        assert secret not in env.values(), f"host {var} leaked into the function"
    assert env["LAMBDA_TASK_ROOT"].startswith(str(sb.settings.state_dir))
    # A package.json of a project around the state directory (say "type": "module") must not reach the code.
    scope = json.loads((Path(sb.settings.state_dir) / "package.json").read_text())
    assert scope["type"] == "commonjs"


SDK_CJS = """
const { S3Client, CreateBucketCommand, ListBucketsCommand } = require("@aws-sdk/client-s3");
const { DynamoDBClient, CreateTableCommand } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand, GetCommand } = require("@aws-sdk/lib-dynamodb");
const s3 = new S3Client({});
exports.handler = async (event) => {
  await s3.send(new CreateBucketCommand({ Bucket: event.bucket }));
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  const ddb = new DynamoDBClient({});
  await ddb.send(new CreateTableCommand({ TableName: event.table, BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }] }));
  const doc = DynamoDBDocumentClient.from(ddb);
  await doc.send(new PutCommand({ TableName: event.table, Item: { pk: "a", n: 7 } }));
  const { Item } = await doc.send(new GetCommand({ TableName: event.table, Key: { pk: "a" } }));
  return { buckets: Buckets.map((b) => b.Name), item: Item };
};
"""

SDK_ESM = """
import { S3Client, CreateBucketCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
const s3 = new S3Client({});
export const handler = async (event) => {
  await s3.send(new CreateBucketCommand({ Bucket: event.bucket }));
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  const { SQSClient, CreateQueueCommand } = await import("@aws-sdk/client-sqs");
  const { QueueUrl } = await new SQSClient({}).send(new CreateQueueCommand({ QueueName: event.queue }));
  return { buckets: Buckets.map((b) => b.Name), queueUrl: QueueUrl };
};
"""


@needs_sdk
def test_sdk_v3_from_commonjs_handler(sb, helpers):
    fn = node_function(sb, helpers, {"index.js": SDK_CJS}, timeout=20)
    body, resp = helpers.invoke(sb, fn, {"bucket": "from-node-cjs", "table": "node-cjs-table"})
    assert "FunctionError" not in resp, body
    assert "from-node-cjs" in body["buckets"] and body["item"] == {"pk": "a", "n": 7}
    assert "from-node-cjs" in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


@needs_sdk
def test_sdk_v3_from_es_module_handler(sb, helpers):
    fn = node_function(sb, helpers, {"index.mjs": SDK_ESM}, timeout=20, runtime="nodejs22.x")
    body, resp = helpers.invoke(sb, fn, {"bucket": "from-node-esm", "queue": "node-esm-queue"})
    assert "FunctionError" not in resp, body
    assert "from-node-esm" in body["buckets"] and body["queueUrl"].endswith("/node-esm-queue")
    assert "from-node-esm" in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


@needs_sdk
def test_function_own_node_modules_win_over_bundled_sdk(sb, helpers):
    fake = 'exports.S3Client = class { constructor() { this.fake = true; } };'
    files = {
        "index.mjs": 'import { S3Client } from "@aws-sdk/client-s3";\nexport const handler = async () => new S3Client().fake === true;',
        "node_modules/@aws-sdk/client-s3/package.json": json.dumps({"name": "@aws-sdk/client-s3", "main": "index.js"}),
        "node_modules/@aws-sdk/client-s3/index.js": fake,
    }
    fn = node_function(sb, helpers, files)
    body, _ = helpers.invoke(sb, fn)
    assert body is True


def test_esm_syntax_in_commonjs_file_fails_as_on_aws(sb, helpers):
    # node >= 20.19 would guess ES module syntax in a .js file; AWS turns that off, and so does the sandbox.
    fn = node_function(sb, helpers, {"index.js": "export const handler = async () => 1;"})
    body, _ = helpers.invoke(sb, fn)
    assert body["errorType"] == "Runtime.UserCodeSyntaxError" and "export" in body["errorMessage"], body


def test_nodejs24_rejects_callback_handlers(sb, helpers):
    code = "exports.cb = (e, c, callback) => callback(null, 1);\nexports.ok = async (e, c) => [typeof c.succeed, 'callbackWaitsForEmptyEventLoop' in c];"
    fn = node_function(sb, helpers, {"index.js": code}, handler="index.cb", runtime="nodejs24.x")
    body, _ = helpers.invoke(sb, fn)
    assert body["errorType"] == "Runtime.CallbackHandlerDeprecated", body
    ok = node_function(sb, helpers, {"index.js": code}, handler="index.ok", runtime="nodejs24.x")
    body, _ = helpers.invoke(sb, ok)
    assert body == ["undefined", False]


def test_json_log_format_and_level(sb, helpers):
    code = """
exports.handler = async () => {
  console.debug("too detailed");
  console.info("not shown either");
  console.warn("shown", 42);
  console.error({ structured: true });
  return 1;
};
"""
    fn = node_function(sb, helpers, {"index.js": code},
                       LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "INFO"})
    _, resp = helpers.invoke(sb, fn, LogType="Tail")
    records = [json.loads(line) for line in tail(resp).splitlines() if line.startswith("{")]
    assert [(r["level"], r["message"]) for r in records] == [("WARN", "shown 42"), ("ERROR", {"structured": True})]
    assert all(r["requestId"] == resp["ResponseMetadata"]["RequestId"] and r["timestamp"] for r in records)


def test_layer_packages_for_require_and_import(sb, helpers):
    lam = sb.client("lambda")
    layer = lam.publish_layer_version(LayerName=helpers.unique("greeter"), Content={"ZipFile": helpers.zip_code({
        "nodejs/node_modules/greeter/package.json": json.dumps({"name": "greeter", "main": "index.js"}),
        "nodejs/node_modules/greeter/index.js": "exports.greet = (n) => `hello ${n}`;",
    })})["LayerVersionArn"]
    files = {
        "cjs.js": 'exports.handler = async () => require("greeter").greet("cjs");',
        "esm.mjs": 'import { greet } from "greeter";\nexport const handler = async () => greet("esm");',
    }
    for module in ("cjs", "esm"):
        fn = node_function(sb, helpers, files, handler=f"{module}.handler", Layers=[layer])
        body, resp = helpers.invoke(sb, fn)
        assert body == f"hello {module}", body


class _FakeEndpoint(BaseHTTPRequestHandler):
    """LocalStack's executor endpoint, as far as bootstrap.mjs uses it."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.calls.append((self.path, body))
        self.server.tokens.add(self.headers.get("X-Sandbox-Runtime-Token"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_missing_sdk_install_is_explained(tmp_path):
    """Without node_runtime/node_modules next to the bootstrap, importing the SDK says which npm command to run."""
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    shutil.copy(runtimes.NODE_BOOTSTRAP, runtime_dir / "bootstrap.mjs")
    shutil.copy(runtimes.NODE_BOOTSTRAP.parent / "network_guard.mjs", runtime_dir / "network_guard.mjs")
    task = tmp_path / "task"
    task.mkdir()
    (task / "index.mjs").write_text('export const handler = async () => { await import("@aws-sdk/client-s3"); };')
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEndpoint)
    server.calls = []
    server.tokens = set()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"PATH": os.environ["PATH"], "LOCALSTACK_RUNTIME_ID": "rt1", "_HANDLER": "index.handler",
           "LOCALSTACK_RUNTIME_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}/_lambda/rt1",
           "LAMBDA_TASK_ROOT": str(task), "AWS_LAMBDA_FUNCTION_TIMEOUT": "5", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "SANDBOX_INVOKE_TOKEN": "secret-1"}
    proc = subprocess.Popen(["node", str(runtime_dir / "bootstrap.mjs")], env=env, cwd=task,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def calls(path):
            return [json.loads(body) for p, body in server.calls if p.endswith(path)]
        deadline = time.monotonic() + 10
        while not calls("/status/rt1/ready") and time.monotonic() < deadline:
            time.sleep(0.05)
        port = calls("/status/rt1/ready")[0]["port"]
        invoke = json.dumps({"invoke-id": "req-1", "payload": "{}", "invoked-function-arn": "arn:x"}).encode()
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/invoke", data=invoke, method="POST",
                                                      headers={"X-Sandbox-Invoke-Token": "secret-1"}))
        while not calls("/invocations/req-1/error") and time.monotonic() < deadline:
            time.sleep(0.05)
        error = calls("/invocations/req-1/error")[0]
        assert error["errorType"] == "Error" and "@aws-sdk/client-s3" in error["errorMessage"]
        assert f"npm ci --prefix {runtime_dir / 'node_runtime'}" in error["errorMessage"], error
        assert "END RequestId: req-1" in calls("/invocations/req-1/logs")[0]["logs"]
        assert server.tokens == {"secret-1"}, "every callback carries the environment's secret"
        forged = urllib.request.Request(f"http://127.0.0.1:{port}/invoke", data=invoke, method="POST")
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(forged)
    finally:
        proc.kill()
        proc.wait(timeout=5)
        server.shutdown()
        server.server_close()


def test_missing_node_gives_clear_error(monkeypatch):
    monkeypatch.setattr(runtimes.interpreters, "nodes", lambda: {})  # no node on PATH, nvm, ... (interpreters.py)
    with pytest.raises(runtimes.LambdaRuntimeException, match="needs Node.js"):
        runtimes.launcher_for("nodejs20.x")


def test_bootstrap_has_no_dependencies():
    """bootstrap.mjs, and the files of its own folder it imports, use node built-ins only."""
    todo, seen = [Path(runtimes.NODE_BOOTSTRAP)], set()
    while todo:
        source = todo.pop()
        seen.add(source.name)
        for line in source.read_text().splitlines():
            if not line.startswith("import "):
                continue
            if '"./' in line:
                sibling = source.parent / line.split('"./', 1)[1].split('"', 1)[0]
                assert sibling.is_file(), line
                if sibling.name not in seen:
                    todo.append(sibling)
                continue
            assert '"node:' in line, f"{source.name} may only import node built-ins: {line}"
    assert "network_guard.mjs" in seen
