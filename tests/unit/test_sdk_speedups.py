"""botocore's per-call work done once in functions (sandbox/lambda_process/environment/sdk_speedups.py): the same
requests as without it, and the work really done once. Each side runs in its own interpreter (the patch changes
botocore's classes)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ENVIRONMENT = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"

# Builds requests without sending them (aborted in before-send) and prints what would have gone out.
REQUESTS = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "patched":
    import sdk_speedups
    assert sdk_speedups.apply()
import boto3
from botocore import endpoint_provider
from botocore.config import Config

evaluations = 0
evaluate = endpoint_provider.RuleSet.evaluate
def counting(self, *args, **kwargs):
    global evaluations
    evaluations += 1
    return evaluate(self, *args, **kwargs)
endpoint_provider.RuleSet.evaluate = counting

class Sent(Exception):
    pass

out = []
def capture(request, **kwargs):
    out.append([request.method, request.url, request.headers.get("User-Agent").decode()
                if isinstance(request.headers.get("User-Agent"), bytes) else request.headers.get("User-Agent")])
    raise Sent()

def client(service, **kwargs):
    c = boto3.client(service, aws_access_key_id="test", aws_secret_access_key="test", **kwargs)
    c.meta.events.register("before-send", capture)
    return c

def call(c, operation, **params):
    try:
        getattr(c, operation)(**params)
    except Sent:
        pass
    except Exception as e:  # an error is part of what is compared
        out.append([type(e).__name__, str(e)])

local = client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1")
aws = client("s3", region_name="eu-west-1")
path_style = client("s3", region_name="eu-west-1", config=Config(s3={"addressing_style": "path"}, retries={"mode": "adaptive"}))
for i in range(25):
    call(local, "get_object", Bucket="media", Key=f"uploads/{i:04d}.mp4")
    call(aws, "get_object", Bucket="media", Key=f"uploads/{i:04d}.mp4")
    call(path_style, "put_object", Bucket="media", Key=f"a/{i}", Body=b"x")
before_odd = evaluations
call(aws, "get_object", Bucket="my.dotted.bucket", Key="k")
call(aws, "copy_object", Bucket="media", Key="b", CopySource="media/a")
call(aws, "list_objects_v2", Bucket="media", Prefix="uploads/")
call(aws, "get_object", Bucket="arn:aws:s3:eu-west-1:123456789012:accesspoint/ap", Key="k")
call(aws, "get_object", Bucket="arn:aws:s3:eu-west-1:123456789012:nonsense", Key="k")
call(aws, "get_object", Bucket="bad bucket name!", Key="k")
unvalidated = client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                     config=Config(parameter_validation=False))
call(local, "get_object", Bucket="media", Key=123)  # botocore's endpoint parameter type check refuses it
call(unvalidated, "get_object", Bucket="media", Key=123)
ddb = client("dynamodb", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1")
for i in range(5):
    call(ddb, "get_item", TableName="jobs", Key={"id": {"S": str(i)}})
call(client("sqs", region_name="us-east-1"), "send_message", QueueUrl="https://sqs.us-east-1.amazonaws.com/1/q",
     MessageBody="m")
print(json.dumps({"requests": out, "evaluations": evaluations, "before_odd": before_odd}))
"""


def _run(side: str) -> dict:
    done = subprocess.run([sys.executable, "-c", REQUESTS, str(ENVIRONMENT), side], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": "/dev/null",
                                            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                                            "PYTHONHASHSEED": "0"})  # the m/ features are a set
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sides() -> tuple[dict, dict]:
    return _run("plain"), _run("patched")


def test_the_same_requests_go_out_with_and_without(sides):
    plain, patched = sides
    assert len(plain["requests"]) == 25 * 3 + 6 + 2 + 5 + 1
    assert patched["requests"] == plain["requests"]
    urls = [r[1] for r in plain["requests"] if len(r) == 3]
    assert "http://127.0.0.1:4566/media/uploads/0007.mp4" in urls
    assert "https://media.s3.eu-west-1.amazonaws.com/uploads/0007.mp4" in urls
    assert "https://s3.eu-west-1.amazonaws.com/media/a/7" in urls
    errors = [r for r in plain["requests"] if len(r) == 2]
    assert errors, "the invalid buckets' errors are compared too"
    assert ["EndpointResolutionError", "Value (Key) is the wrong type. Must be <class 'str'>."] in errors, errors


def test_a_new_object_key_no_longer_evaluates_s3s_ruleset_again(sides):
    plain, patched = sides
    # three clients, 25 keys each: botocore evaluates the ruleset for every new key; once per client and bucket now
    assert plain["before_odd"] >= 75
    assert patched["before_odd"] == 3


def test_the_fork_server_applies_them_to_the_botocore_it_preloads():
    done = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]); import zygote; zygote.preload(); "
        "from botocore import useragent, endpoint_provider; "
        "print(hasattr(useragent.sanitize_user_agent_string_component, 'cache_info'), "
        "endpoint_provider.EndpointProvider._sandbox_unread == {})"), str(ENVIRONMENT)],
        capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_what_a_ruleset_never_reads_is_found():
    sys.path.insert(0, str(ENVIRONMENT))
    try:
        import sdk_speedups
    finally:
        sys.path.remove(str(ENVIRONMENT))
    ruleset = {"version": "1.0", "parameters": {
        "Bucket": {"type": "String"}, "Key": {"type": "String"}, "Region": {"type": "String", "required": True},
        "Templated": {"type": "String"}, "Required": {"type": "String", "required": True}},
        "rules": [{"conditions": [{"fn": "isSet", "argv": [{"ref": "Bucket"}]}],
                   "endpoint": {"url": "https://{Templated}.example.com/{Region}"}, "type": "endpoint"}]}
    assert sdk_speedups.unread_parameters(ruleset) == {"Key": str}
