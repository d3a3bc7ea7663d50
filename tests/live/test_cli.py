"""The `sandbox` command: up/down/status/logs/reset/env, safety rails, and no process left behind."""

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from sandbox import Sandbox
from sandbox.embedded import free_port
from sandbox.process_registry import ProcessRegistry
from sandbox.safety import UnsafeEndpointError

BIN = Path(sys.executable).parent


def run(*args, env=None, check=False, timeout=120):
    proc = subprocess.run([str(BIN / "sandbox"), *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"sandbox {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.live  # starts a LocalStack of its own
def test_up_twice_then_down_leaves_no_process(tmp_path, helpers):
    state, port = tmp_path / "state", free_port()
    base = ["--state-dir", str(state)]
    first = run(*base, "up", "--port", str(port), check=True)
    assert f"sandbox ready at http://127.0.0.1:{port} in" in first.stdout
    second = run(*base, "up", "--port", str(port), check=True)
    assert "already running" in second.stdout and "note:" not in second.stderr
    elsewhere = run(*base, "up", "--port", str(free_port()), check=True)  # it stays where it runs, and says so
    assert "already running" in elsewhere.stdout and f"note: it runs on port {port}, not" in elsewhere.stderr
    # start a Lambda environment so `down` has a child process to stop
    sb = Sandbox(state_dir=state, port=port, endpoint=None)
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 1\n")
    helpers.invoke(sb, fn)
    status = json.loads(run(*base, "status", "--json", check=True).stdout)
    assert status["running"] and status["backend"] == "embedded" and status["pid"]
    assert len(status["lambda_processes"]) == 1
    started = [r for r in sb.embedded.registry.alive()]
    assert {r.kind for r in started} == {"localstack", "lambda-zygote", "lambda", "lambda-runtime"}
    pids = [r.pid for r in started]
    down = run(*base, "down", check=True)
    assert f"LocalStack (pid {status['pid']})" in down.stdout
    # the environments `status` counted, each a supervisor and its runtime
    assert "1 Lambda environment(s) (2 processes: each a supervisor and its runtime" in down.stdout, down.stdout
    # it stopped on SIGTERM: the warm-up (still loading services this soon after `up`) no longer holds it up
    assert "did not stop" not in down.stderr, down.stderr
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, f"pid {pid} survived"
    assert not list((state / "pids").glob("*.json"))
    assert "nothing was running" in run(*base, "down", check=True).stdout
    assert run(*base, "status").returncode == 3


def test_port_in_use_is_a_clear_error(sandbox, tmp_path):
    proc = run("--state-dir", str(tmp_path / "other"), "up", "--port", str(sandbox.settings.port))
    assert proc.returncode == 1
    assert f"Port {sandbox.settings.port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_json_shape(sandbox):
    st = json.loads(run("--state-dir", str(sandbox.settings.state_dir), "status", "--json", check=True).stdout)
    assert st["running"] is True and st["backend"] == "embedded"
    assert st["endpoint"] == f"http://127.0.0.1:{sandbox.settings.port}"
    assert isinstance(st["pid"], int)
    assert st["services"]["lambda"] in ("available", "running") and "sqs" in st["services"]


def test_logs_shows_localstack_log(sandbox):
    out = run("--state-dir", str(sandbox.settings.state_dir), "logs", "-n", "100000", check=True).stdout
    assert "Serverless Sandbox extensions loaded" in out


def test_logs_of_a_function_as_sam_logs_shows_them(sb, helpers):
    """`sandbox logs FUNCTION`: its CloudWatch Logs, the last -n lines; -f prints new ones; an unknown name is named
    with the functions there are."""
    fn = helpers.create_function(sb, "def handler(event, context):\n    print('marker', event['n'])\n    return 1\n")
    helpers.invoke(sb, fn, {"n": 1})
    base = ["--state-dir", str(sb.settings.state_dir), "logs"]
    out = helpers.wait_for(lambda: "marker 1" in (o := run(*base, fn, check=True).stdout) and o,
                           message="the function's line in `sandbox logs FUNCTION`")
    assert "START RequestId:" in out and "REPORT RequestId:" in out
    assert run(*base, fn, "-n", "1", check=True).stdout.count("\n") == 1
    follower = subprocess.Popen([str(BIN / "sandbox"), *base, fn, "-f", "-n", "0"], stdout=subprocess.PIPE, text=True)
    try:
        # -n 0 follows from when the follower has started, which a loaded host can take seconds to do: invoke until
        # a new line shows (a blocking readline hung the test once the only invoke came before the follower started)
        seen, n, deadline = "", 2, time.monotonic() + 60
        while "marker" not in seen and time.monotonic() < deadline:
            helpers.invoke(sb, fn, {"n": n})
            n += 1
            if select.select([follower.stdout], [], [], 2)[0]:
                seen += follower.stdout.readline()
        assert "marker" in seen and not re.search(r"marker 1\b", seen), seen
    finally:
        follower.terminate()
        follower.wait(10)
    unknown = run(*base, "no-such-fn")
    assert unknown.returncode == 1 and "no Lambda function named no-such-fn" in unknown.stderr and fn in unknown.stderr
    assert "name the function" in run(*base, "--since", "10m").stderr
    bad = run(*base, fn, "--since", "5")
    assert bad.returncode == 2 and "use a duration (30s, 10m, 2h, 1d) or an ISO time" in bad.stderr
    assert "cursor" not in bad.stderr
    assert run(*base, fn, "-n", "-5").returncode == 2  # refused by the option itself
    quiet = helpers.create_function(sb, "def handler(event, context):\n    return 1\n")
    nothing = run(*base, quiet, check=True)
    assert nothing.stdout == "" and f"no log lines of {quiet} since" in nothing.stderr


def test_external_backend_status(sandbox):
    st = json.loads(run("--endpoint", sandbox.endpoint, "status", "--json", check=True).stdout)
    assert st["backend"] == "external" and st["running"] is True and st["pid"] is None


def test_non_loopback_endpoint_is_refused():
    with pytest.raises(UnsafeEndpointError, match="not on loopback"):
        Sandbox(endpoint="https://dynamodb.us-east-1.amazonaws.com")
    proc = run("--endpoint", "http://10.0.0.5:4566", "status")
    assert proc.returncode == 1 and "not on loopback" in proc.stderr and "--allow-remote" in proc.stderr
    # explicitly allowed: accepted (no request is made here)
    assert Sandbox(endpoint="http://10.0.0.5:4566", allow_remote=True).endpoint == "http://10.0.0.5:4566"


def test_reset_empties_everything(sb, helpers):
    s3, sqs, lam = sb.client("s3"), sb.client("sqs"), sb.client("lambda")
    s3.create_bucket(Bucket="keep-me-not")
    sqs.create_queue(QueueName="gone-soon")
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 1\n")
    helpers.invoke(sb, fn)
    env_pids = sb.info()["lambda_processes"]
    assert len(env_pids) == 1
    result = run("--state-dir", str(sb.settings.state_dir), "reset", check=True)
    assert "reset" in result.stdout
    assert s3.list_buckets()["Buckets"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert lam.list_functions()["Functions"] == []
    assert sb.info()["lambda_processes"] == []
    for env_pid in env_pids:
        assert not psutil.pid_exists(env_pid) or psutil.Process(env_pid).status() == psutil.STATUS_ZOMBIE
    # and the sandbox still works afterwards
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 7\n")
    assert helpers.invoke(sb, fn)[0] == 7


def test_awslocal_works(sb):
    sb.client("s3").create_bucket(Bucket="seen-by-awslocal")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sb.aws_env())
    proc = subprocess.run([str(BIN / "awslocal"), "s3", "ls"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "seen-by-awslocal" in proc.stdout


def test_env_command_prints_exports(sandbox):
    out = run("--state-dir", str(sandbox.settings.state_dir), "env", check=True).stdout
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{sandbox.settings.port}" in out
    assert "export AWS_ACCESS_KEY_ID=test" in out
    # a shell's profile (even one that does not exist) must not win over the exported keys (#14, 17)
    shell = subprocess.run(["bash", "-c", f'eval "$1" && {BIN / "aws"} sqs list-queues --output json', "_", out],
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ["PATH"], "AWS_PROFILE": "no-such-profile"})
    assert shell.returncode == 0, shell.stderr


def test_loopback_guard_refuses_outbound_connections(sb):
    """An SNS HTTP subscription to a non-loopback address: the guard refuses it inside LocalStack.

    0.0.0.0 is used because, were the guard ever broken, Linux would route it to this machine: no packet can
    leave even then.
    """
    sns = sb.client("sns")
    topic = sns.create_topic(Name="guarded")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://0.0.0.0:9/hook")
    sns.publish(TopicArn=topic, Message="hello")

    def refused():
        return [b for b in sb.info()["blocked_connections"] if "0.0.0.0" in b]

    from conftest import wait_for

    assert wait_for(refused, timeout=15, message="the guard to refuse the connection to 0.0.0.0")


def test_unsupported_service_has_a_clear_error(sb):
    resp = requests.post(
        sb.endpoint,
        headers={"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, "
                                  "SignedHeaders=host, Signature=x"},
        data="{}", timeout=10,
    )
    assert resp.status_code == 501
    assert "not available in the embedded Serverless Sandbox" in resp.text
    assert "docker-compose" in resp.text


def test_xray_says_where_the_traces_are_instead_of_a_license_plan(sb):
    """`aws xray get-trace-summaries` answered "not included in your current license plan": the sandbox's traces are
    its own (and Docker's LocalStack has no X-Ray either)."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        sb.client("xray").get_trace_summaries(StartTime=0, EndTime=1)
    message = refused.value.response["Error"]["Message"]
    assert "not available in the embedded Serverless Sandbox" in message and "sandbox trace <trace id>" in message
    assert "license" not in message and "docker" not in message.lower().replace("embedded or in docker", "")


def test_another_state_dir_is_told_whose_sandbox_runs_on_the_port(sandbox, tmp_path):
    """#14, 15: `sandbox status`/`down` from another folder said "running" / "nothing was running" and left it up."""
    port = str(sandbox.settings.port)
    env = {**os.environ, "SANDBOX_PORT": port}
    status = run("status", "--state-dir", str(tmp_path / "elsewhere"), env=env)
    assert status.returncode == 3 and str(sandbox.settings.state_dir) in status.stdout, status.stdout
    down = run("down", "--state-dir", str(tmp_path / "elsewhere"), env=env)
    assert down.returncode == 1 and f"--state-dir {sandbox.settings.state_dir} down" in down.stderr, down.stderr
    assert sandbox.status()["running"], "the other sandbox was left alone"
    # from a subfolder of the sandbox's project, the project's .sandbox is found (as git finds .git)
    from sandbox.settings import default_state_dir

    project = tmp_path / "project"
    (project / ".sandbox").mkdir(parents=True)
    (project / ".sandbox" / "localstack.log").write_text("")
    (project / "src" / "deep").mkdir(parents=True)
    assert default_state_dir(project / "src" / "deep") == project / ".sandbox"
    assert default_state_dir(tmp_path) == tmp_path / ".sandbox"


def _describe(processes: list[psutil.Process]) -> list:
    out = []
    for p in processes:
        try:
            out.append((p.pid, " ".join(p.cmdline())[:120]))
        except psutil.Error:  # it ended meanwhile
            out.append((p.pid, "?"))
    return out


def _interrupt_up(tmp_path, moment: str, sig=signal.SIGINT, state: Path | None = None, args=()):
    """Starts `sandbox up` as a terminal runs a command - in a process group of its own, which Ctrl-C signals as a
    whole - signals the group at `moment`, and returns (exit code, stderr, the processes that survived it).

    Every process the command started is noted before the signal: the records it wrote in pids/ and its process tree.
    """
    state, port = state or tmp_path / f"state-{moment}", free_port()
    proc = subprocess.Popen([str(BIN / "sandbox"), "--state-dir", str(state), "up", "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    registry = ProcessRegistry(state / "pids")
    seen: dict[int, psutil.Process] = {}

    def note():
        for rec in registry.alive():
            with contextlib.suppress(psutil.Error):
                seen.setdefault(rec.pid, psutil.Process(rec.pid))
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                seen.setdefault(child.pid, child)

    def localstack():
        return next((r for r in registry.alive() if r.kind == "localstack"), None)

    try:
        if moment == "at-once":  # as soon as `up` runs: a signal before that hits the interpreter's own start-up,
            # which no program can handle ("Fatal Python error: init_sys_streams ... KeyboardInterrupt", seen in CI)
            while proc.poll() is None and not state.exists():
                pass
        elif moment == "localstack-starting":  # its process is recorded: LocalStack is importing its services
            while localstack() is None and proc.poll() is None:
                note()
        elif moment == "just-before-ready":  # our extensions are loaded, the gateway is next; held there
            log = state / "localstack.log"
            while proc.poll() is None and not (log.is_file() and "extensions loaded" in log.read_text()):
                note()
            if (rec := localstack()) is not None:
                os.kill(rec.pid, signal.SIGSTOP)  # it cannot become ready before the signal below arrives
        elif moment == "deploying":  # ready, and deploying the patterns of `--deploy`
            while proc.poll() is None and "sandbox ready" not in proc.stdout.readline():
                pass
            while proc.poll() is None and not list(state.glob("pids/*.json"))[1:]:
                pass  # the fork server too (the warm-up starts it), so that it is among the processes noted
        elif moment == "loading-saved-state":  # `up --persist`: LocalStack serves, and says it is still loading
            http = requests.Session()
            http.trust_env = False
            while proc.poll() is None and localstack() is None:
                note()
            rec = localstack()
            while proc.poll() is None and rec is not None:  # a tight loop: the load may take only a few ms
                with contextlib.suppress(requests.RequestException):
                    if http.get(f"http://127.0.0.1:{port}/_sandbox/info", timeout=1).status_code == 503:
                        os.kill(rec.pid, signal.SIGSTOP)  # held mid-load: it cannot finish before the signal below
                        break
        note()
        assert proc.poll() is None, f"`up` ended before the signal: {proc.communicate()}"
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=120)
        note()
        survivors = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        return proc.returncode, err, survivors
    finally:
        for p in seen.values():
            with contextlib.suppress(psutil.Error):
                p.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.live  # starts LocalStacks of its own
@pytest.mark.parametrize("moment", ["at-once", "localstack-starting", "just-before-ready"])
def test_ctrl_c_during_up_stops_everything_it_started(tmp_path, moment):
    code, err, survivors = _interrupt_up(tmp_path, moment)
    assert not survivors, f"left running: {_describe(survivors)}"
    assert "Traceback" not in err and "Aborted" not in err, err
    if moment == "at-once" and code == -signal.SIGINT:
        return  # the signal came before Python had started: nothing was started, nothing printed
    assert code == 130, err
    assert err.strip().splitlines()[-1].startswith("Interrupted:"), err
    if moment != "at-once":
        assert err.strip().splitlines()[-1] == "Interrupted: stopped the sandbox that was starting"


@pytest.mark.live  # starts a LocalStack of its own
def test_ctrl_c_while_up_deploys_patterns_stops_the_sandbox_it_started(tmp_path):
    code, err, survivors = _interrupt_up(tmp_path, "deploying", args=["--deploy", "crud-api"])
    assert not survivors, f"left running: {_describe(survivors)}"
    assert code == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "Interrupted: stopped the sandbox that was starting"


@pytest.mark.live  # starts LocalStacks of its own
@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "Terminated"), (signal.SIGHUP, 129, "Hung up")])
def test_sigterm_and_sighup_during_up_stop_everything_it_started(tmp_path, sig, code, word):
    returncode, err, survivors = _interrupt_up(tmp_path, "just-before-ready", sig)
    assert not survivors, f"left running: {_describe(survivors)}"
    assert returncode == code and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == f"{word}: stopped the sandbox that was starting"


PERSIST_APP = Path(__file__).parent.parent / "apps" / "persist-demo"


def _pids(state: Path) -> list[psutil.Process]:
    return [psutil.Process(r.pid) for r in ProcessRegistry(state / "pids").alive()]


@pytest.mark.live  # starts LocalStacks of its own
def test_up_persist_keeps_state_across_down_and_plain_up_starts_empty(tmp_path):
    state, port = tmp_path / "state", free_port()
    base = ["--state-dir", str(state)]
    try:
        first = run(*base, "up", "--port", str(port), "--persist", check=True)
        assert "`sandbox down` saves it" in first.stdout
        sb = Sandbox(state_dir=state, port=port, endpoint=None)
        out = sb.deploy(str(PERSIST_APP), stack_name="keep").outputs
        invoked = sb.client("lambda").invoke(FunctionName=out["Function"], Payload=json.dumps({"id": "a", "text": "kept"}))
        assert "FunctionError" not in invoked, invoked["Payload"].read()
        sb.client("sqs").send_message(QueueUrl=out["QueueUrl"], MessageBody="still queued")
        sb.client("s3").put_object(Bucket=out["Bucket"], Key="notes/a.txt", Body=b"kept too")
        running = _pids(state)

        down = run(*base, "down", check=True)
        assert f"state saved in {state / 'persisted'}" in down.stdout, down.stdout
        assert "1 stack, 1 function, 1 table, 1 item, 1 queue, 1 queued message, 1 bucket, 1 object, " \
               "1 state machine, 1 event rule" in down.stdout, down.stdout
        assert not [p for p in running if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

        again = run(*base, "up", "--port", str(port), "--persist", check=True)
        assert f"state loaded from {state / 'persisted'}: 1 stack" in again.stdout, again.stdout
        assert "warning" not in again.stderr, again.stderr
        sb = Sandbox(state_dir=state, port=port, endpoint=None)  # a new instance, a new token
        assert [s["name"] for s in sb.stacks()] == ["keep"]
        item = sb.client("dynamodb").get_item(TableName=out["Table"], Key={"id": {"S": "a"}})["Item"]
        assert item["text"] == {"S": "kept"}
        messages = sb.client("sqs").receive_message(QueueUrl=out["QueueUrl"], WaitTimeSeconds=2)["Messages"]
        assert [m["Body"] for m in messages] == ["still queued"]
        assert sb.client("s3").get_object(Bucket=out["Bucket"], Key="notes/a.txt")["Body"].read() == b"kept too"
        # the function runs again, with its code, and reaches its table
        invoked = sb.client("lambda").invoke(FunctionName=out["Function"], Payload=json.dumps({"id": "b", "text": "new"}))
        assert "FunctionError" not in invoked and json.loads(invoked["Payload"].read()) == {"id": "b", "text": "new"}
        sfn = sb.client("stepfunctions")
        execution = sfn.start_execution(stateMachineArn=out["StateMachine"])["executionArn"]
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            time.sleep(0.1)
        assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"greeting": "hello"}
        assert sb.client("events").describe_rule(Name=out["Rule"])["State"] == "ENABLED"
        run(*base, "down", check=True)

        # plain `up` starts empty and leaves the saved state for the next `up --persist`
        plain = run(*base, "up", "--port", str(port), check=True)
        assert "started empty; a saved state from" in plain.stdout, plain.stdout
        sb = Sandbox(state_dir=state, port=port, endpoint=None)
        assert sb.stacks() == []
        sqs = sb.client("sqs")
        url = sqs.create_queue(QueueName="scratch")["QueueUrl"]
        for body in ("one", "two"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        sb.faults.add({"service": "sqs", "operation": "SendMessage", "probability": 0.5})
        down = run(*base, "down", check=True)
        # the fault rule goes too, and is said (it went without a word)
        assert "discarded: 1 queue, 2 queued messages, 1 fault rule (state lives in memory; `sandbox up --persist` " \
               "keeps it" in down.stdout, down.stdout
        assert (state / "persisted" / "manifest.json").is_file()
        # status says how to get the saved state back (it suggested a plain `up`, which starts empty)
        stopped = run(*base, "status")
        assert f"`sandbox up --persist --port {port}` starts it there with the state it saved" in stopped.stdout, \
            stopped.stdout
    finally:
        run(*base, "down")


@pytest.mark.live  # starts a LocalStack of its own
def test_ctrl_c_during_down_still_stops_everything(tmp_path, helpers):
    state, port = tmp_path / "state", free_port()
    base = ["--state-dir", str(state)]
    try:
        run(*base, "up", "--port", str(port), check=True)
        sb = Sandbox(state_dir=state, port=port, endpoint=None)
        helpers.invoke(sb, helpers.create_function(sb, "def handler(e, c):\n    return 1\n"))
        started = _pids(state)
        assert len(started) >= 3  # LocalStack, the fork server, the function's environment
        log = state / "localstack.log"
        down = subprocess.Popen([str(BIN / "sandbox"), *base, "down"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        while "received signal 15" not in log.read_text() and down.poll() is None:
            pass
        os.killpg(down.pid, signal.SIGINT)  # Ctrl-C while LocalStack shuts down
        out, err = down.communicate(timeout=120)
        assert down.returncode == 0 and "stopped LocalStack" in out, (out, err)
        assert "Traceback" not in err
        assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not list((state / "pids").glob("*.json"))
    finally:
        run(*base, "down")


@pytest.mark.live  # starts LocalStacks of its own
def test_ctrl_c_while_a_saved_state_loads_keeps_the_saved_state(tmp_path):
    state, port = tmp_path / "state", free_port()
    base = ["--state-dir", str(state)]
    run(*base, "up", "--port", str(port), "--persist", check=True)
    sb = Sandbox(state_dir=state, port=port, endpoint=None)
    sqs = sb.client("sqs")
    sqs.send_message(QueueUrl=sqs.create_queue(QueueName="kept")["QueueUrl"], MessageBody="m")
    s3 = sb.client("s3")  # enough saved state that loading it takes a while to catch
    s3.create_bucket(Bucket="kept")
    for i in range(200):
        s3.put_object(Bucket="kept", Key=f"k{i}", Body=b"x" * 1024)
    run(*base, "down", check=True)
    manifest = (state / "persisted" / "manifest.json").read_text()
    code, err, survivors = _interrupt_up(tmp_path, "loading-saved-state", state=state, args=["--persist"])
    assert not survivors, f"left running: {_describe(survivors)}"
    assert code == 130 and err.strip().splitlines()[-1] == "Interrupted: stopped the sandbox that was starting", err
    # killed, not shut down: nothing half-loaded was saved over the saved state
    assert (state / "persisted" / "manifest.json").read_text() == manifest
    again = run(*base, "up", "--port", str(port), "--persist", check=True)
    try:
        assert "1 queue, 1 queued message" in again.stdout, again.stdout
        # a LocalStack that cannot save (frozen here: `down` kills it after its grace period) keeps the last save,
        # and `down` does not claim it saved
        os.kill(Sandbox(state_dir=state, port=port, endpoint=None).embedded.instance().pid, signal.SIGSTOP)
        down = run(*base, "down", check=True)
        assert "state saved" not in down.stdout, down.stdout
        assert f"the state could not be saved this time (the save from " in down.stderr, down.stderr
        assert (state / "persisted" / "manifest.json").read_text() == manifest
    finally:
        run(*base, "down")


def test_a_scenario_run_at_a_terminal_says_what_the_reset_removes_and_asks_first(sb, helpers):
    """It reset the sandbox without a word: every stack, a lab's workspace, a queue made by hand went (the TUI's
    dialog said "nothing of yours is removed", counting stacks only). At a terminal it now asks; "n" resets nothing."""
    import pty

    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=helpers.unique("mine"))["QueueUrl"]
    main, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([str(BIN / "sandbox"), "--state-dir", str(sb.settings.state_dir), "scenario", "run",
                                 "throttling"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        os.write(main, b"n\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(main)
        os.close(terminal)
    assert proc.returncode == 1, (out, err)
    assert "Each variant starts by resetting the sandbox. It removes everything in the sandbox, among it 1 queue." \
        in err, err
    assert "not run: nothing was reset" in err
    assert sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url  # still there


def test_a_scenario_run_in_a_script_does_not_empty_a_sandbox_that_holds_something_without_yes(sb, helpers):
    """Without a terminal it reset unasked: a bucket a script had made went (found by a newcomer), where `dlq purge`
    and `lab reset` refuse. It now needs --yes, unless the sandbox is empty."""
    s3 = sb.client("s3")
    bucket = helpers.unique("precious")
    s3.create_bucket(Bucket=bucket)
    done = subprocess.run([str(BIN / "sandbox"), "--state-dir", str(sb.settings.state_dir), "scenario", "run",
                           "throttling", "--json"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "among it 1 bucket" in done.stderr and "needs `--yes`" in done.stderr, done.stderr
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


KEEP_TEMPLATE = """Parameters:
  Stage: {Type: String, Default: prod, AllowedValues: [dev, prod]}
  Paused: {Type: String, Default: "true"}
  Secret: {Type: String, NoEcho: true}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Jobs: {Type: AWS::SQS::Queue, Properties: {Tags: [{Key: secret, Value: !Ref Secret}]}}
  ProdOnly: {Type: AWS::SQS::Queue, Condition: IsProd}
Outputs:
  Stage: {Value: !Ref Stage}
  Paused: {Value: !Ref Paused}
"""


def test_deploy_keeps_the_stacks_parameters_it_is_not_given(sandbox, tmp_path, helpers):
    """`sandbox deploy --param Paused=false` on a stack deployed with Stage=dev keeps Stage=dev, as `sam deploy` and
    `aws cloudformation deploy` do (UsePreviousValue), and says so. It reset Stage to its default, prod: the
    condition switched and created ProdOnly (or, the other way round, deleted a table with its data). A NoEcho
    parameter without a default, whose value CloudFormation hides, is kept too (UsePreviousValue)."""
    (tmp_path / "template.yaml").write_text(KEEP_TEMPLATE)
    stack = helpers.unique("keep")
    sqs = sandbox.client("sqs")

    def deploy(*params):
        args = [a for p in params for a in ("--param", p)]
        return run("--endpoint", sandbox.endpoint, "deploy", str(tmp_path / "template.yaml"), "--stack-name", stack,
                   *args, check=True).stdout

    deploy("Stage=dev", "Secret=s3cret")
    out = deploy("Paused=false")
    assert "kept from the stack, not the template's default: Stage=dev" in out, out
    assert "Stage: dev" in out and "Paused: false" in out, out
    assert not [u for u in sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", []) if "ProdOnly" in u]
    [jobs] = [u for u in sqs.list_queues(QueueNamePrefix=stack)["QueueUrls"] if "Jobs" in u]
    assert sqs.list_queue_tags(QueueUrl=jobs)["Tags"] == {"secret": "s3cret"} and "Secret" not in out
    out = deploy("Stage=prod")
    assert "Stage: prod" in out and "kept from the stack, not the template's default: Paused=false" in out, out
    assert [u for u in sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", []) if "ProdOnly" in u]
    out = deploy("Stage=dev")  # --defaults: what is not given takes the template's default (Paused back to true)
    out = run("--endpoint", sandbox.endpoint, "deploy", str(tmp_path / "template.yaml"), "--stack-name", stack,
              "--defaults", "--param", "Secret=other", check=True).stdout
    assert "Stage: prod" in out and "Paused: true" in out and "kept from the stack" not in out, out
    sandbox.destroy(stack)
