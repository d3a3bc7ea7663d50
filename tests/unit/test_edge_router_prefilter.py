"""patch edge_router_prefilter: every request it lets skip LocalStack's edge router is one werkzeug would neither
match nor redirect, over the router's rules in a running sandbox (media-pipeline deployed; API Gateway, Lambda URL,
SQS, S3 website and the sandbox's own resources) and requests built to come close to them."""

from __future__ import annotations

import itertools
import random

import pytest

from sandbox.localstack_ext.patches import edge_router_prefilter as prefilter

# (host template, path template) of LocalStack's ROUTER in a running sandbox (2026-12-06)
RULES = [
    ('<__host__>', '/_sandbox/census'),
    ('<__host__>', '/_sandbox/info'),
    ('<__host__>', '/_sandbox/inventory'),
    ('<__host__>', '/_sandbox/reset'),
    ('<__host__>', '/_sandbox/chaos'),
    ('<__host__>', '/_sandbox/chaos/lambda'),
    ('<__host__>', '/_sandbox/cost'),
    ('<__host__>', '/_sandbox/events'),
    ('<__host__>', '/_sandbox/graph'),
    ('<__host__>', '/_sandbox/recorder'),
    ('<__host__>', '/_sandbox/traces/<trace_id>'),
    ('<__host__>', '/_sandbox/schedules/advance'),
    ('<__host__>', '/_sandbox/schedules/fire'),
    ('<__host__>', '/_sandbox/schedules'),
    ('<__host__>', '/openapi.yaml'),
    ('<regex(".*"):bucket_name>.s3-website.<regex(".*"):domain>', '/<path:path>'),
    ('<regex(".*"):bucket_name>.s3-website.<regex(".*"):domain>', '/'),
    ('sqs.<regex("([a-z0-9-]+\\.)?"):region><regex(".*"):domain><regex("(:[0-9]{2,5})?"):port>', '/<regex("[0-9]{12}"):account_id>/<regex("[a-zA-Z0-9_-]+(.fifo)?"):queue_name>'),
    ('<__host__>', '/queue/<regex("[a-z0-9-]+"):region>/<regex("[0-9]{12}"):account_id>/<regex("[a-zA-Z0-9_-]+(.fifo)?"):queue_name>'),
    ('<regex("([a-z0-9-]+\\.)?"):region>queue.<regex(".*"):domain><regex("(:[0-9]{2,5})?"):port>', '/<regex("[0-9]{12}"):account_id>/<regex("[a-zA-Z0-9_-]+(.fifo)?"):queue_name>'),
    ('<__host__>', '/<regex("[0-9]{12}"):account_id>/<regex("[a-zA-Z0-9_-]+(.fifo)?"):queue_name>'),
    ("<api_id>.lambda-url.<regex('(us(-gov)?|ap|ca|cn|eu|sa)-(central|(north|south)?(east|west)?)-\\d'):region>.<regex('.*'):server>", '/'),
    ("<api_id>.lambda-url.<regex('(us(-gov)?|ap|ca|cn|eu|sa)-(central|(north|south)?(east|west)?)-\\d'):region>.<regex('.*'):server>", '/<path:path>'),
    ("<regex('.+?'):api_id><regex('(-vpce-[^.]+)?'):vpce_suffix>.execute-api.<regex('.*'):server>", '/'),
    ("<regex('.+?'):api_id><regex('(-vpce-[^.]+)?'):vpce_suffix>.execute-api.<regex('.*'):server>", '/<stage>/'),
    ("<regex('.+?'):api_id><regex('(-vpce-[^.]+)?'):vpce_suffix>.execute-api.<regex('.*'):server>", '/<stage>/<greedy_path:path>'),
    ('<__host__>', '/_aws/execute-api/<api_id>/'),
    ('<__host__>', '/_aws/execute-api/<api_id>/<stage>/'),
    ('<__host__>', '/_aws/execute-api/<api_id>/<stage>/<greedy_path:path>'),
    ('<__host__>', '/restapis/<api_id>/<stage>/_user_request_'),
    ('<__host__>', '/restapis/<api_id>/<stage>/_user_request_/<greedy_path:path>'),
    ("<regex('vpce-.+'):vpce_dns>.execute-api.<regex('.*'):region>vpce.<regex('.*'):server>", '/'),
    ("<regex('vpce-.+'):vpce_dns>.execute-api.<regex('.*'):region>vpce.<regex('.*'):server>", '/<stage>/'),
    ("<regex('vpce-.+'):vpce_dns>.execute-api.<regex('.*'):region>vpce.<regex('.*'):server>", '/<stage>/<greedy_path:path>'),
    ('<__host__>', '/_aws/sns/platform-endpoint-messages'),
    ('<__host__>', '/_aws/sns/sms-messages'),
    ('<__host__>', '/_aws/sns/subscription-tokens/<path:subscription_arn>'),
    ('<__host__>', '/_aws/sns/phone-opt-outs'),
    ('<__host__>', '/_aws/sns/SimpleNotificationService-6c6f63616c737461636b69736e696365.pem'),
    ('<__host__>', '/_aws/ses'),
    ('<__host__>', '/_aws/cloudwatch/metrics/raw'),
    ('<__host__>', '/_localstack_lambda/<executor_id>/invocations/<req_id>/error'),
    ('<__host__>', '/_localstack_lambda/<executor_id>/invocations/<invoke_id>/logs'),
    ('<__host__>', '/_localstack_lambda/<executor_id>/invocations/<req_id>/response'),
    ('<__host__>', '/_localstack_lambda/<env_id>/status/<executor_id>/error'),
    ('<__host__>', '/_localstack_lambda/<env_id>/status/<executor_id>/ready'),
]

PATHS = [
    "/", "//", "/_sandbox/census", "/_sandbox/census/", "//_sandbox//census", "/_sandbox/traces/1-abc-def",
    "/_sandbox/trace/1", "/_sandbox", "/_sandboxx/census", "/openapi.yaml", "/openapi.yml",
    "/queue/us-east-1/000000000000/jobs", "/queue/us-east-1/000000000000/jobs.fifo", "/queue/US/000000000000/jobs",
    "/000000000000/jobs", "/000000000000/jobs.fifo", "/000000000000/jobs/", "//000000000000//jobs",
    "/00000000000/jobs", "/0000000000000/jobs", "/000000000000/", "/000000000000", "/000000000000/a b",
    "/000000000000/jobs%2Ffoo", "/_aws/execute-api/abc123", "/_aws/execute-api/abc123/", "/_aws/execute-api/abc/prod",
    "/_aws/execute-api/abc/prod/items/1", "/_aws/execute-api", "/_aws/sns/sms-messages", "/_aws/sns/sms-messages/",
    "/_aws/ses", "/_aws/cloudwatch/metrics/raw", "/restapis/abc/prod/_user_request_",
    "/restapis/abc/prod/_user_request_/x/y", "/restapis/abc/prod", "/_localstack_lambda/e1/invocations/r1/response",
    "/_localstack_lambda/e1/status/x/ready", "/_localstack_lambda/", "/2015-03-31/functions/f/invocations",
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations",
    "/bucket", "/bucket/", "/bucket/key/with/slashes", "/my-bucket/000000000000/jobs", "/_aws", "/_aws/",
    "/2015-03-31/functions/", "/_localstack/health", "/%5Fsandbox/census", "/_SANDBOX/census",
]
HOSTS = [
    "localhost:4566", "127.0.0.1:4566", "localhost.localstack.cloud:4566", "LOCALHOST:4566", "[::1]:4566", "",
    "abc123.execute-api.localhost.localstack.cloud:4566", "ABC123.EXECUTE-API.localhost:4566",
    "abc-vpce-1.execute-api.localhost:4566", "vpce-1.execute-api.us-east-1vpce.localhost:4566",
    "abc.lambda-url.us-east-1.localhost.localstack.cloud:4566", "abc.lambda-url.xx-east-1.localhost:4566",
    "bucket.s3-website.localhost.localstack.cloud:4566", "bucket.s3.localhost.localstack.cloud:4566",
    "sqs.us-east-1.localhost.localstack.cloud:4566", "sqs.localhost:4566", "us-east-1.queue.localhost:4566",
    "queue.localhost:4566", "s3.localhost.localstack.cloud:4566", "execute-api.localhost:4566",
]


def router():
    from rolo import Router
    from rolo.routing import RuleAdapter
    from localstack.aws.protocol.op_router import GreedyPathConverter
    from werkzeug.routing import Rule

    r = Router(converters={"greedy_path": GreedyPathConverter})
    for i, (host, path) in enumerate(RULES):
        r.add_rule(Rule(path, host=host, endpoint=f"rule-{i}"))
    return r


def werkzeug_takes(r, path: str, host: str) -> bool:
    """Whether werkzeug matches, or redirects, this request (anything but NotFound)."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    adapter = r.url_map.bind(server_name=host or "localhost")
    try:
        adapter.match(path, method="GET")
    except NotFound:
        return False
    except (RequestRedirect, MethodNotAllowed):
        return True
    return True


def near_misses(seed: int = 7, count: int = 3000):
    """Paths mutated from the corpus: a character dropped, doubled, swapped or changed."""
    rng = random.Random(seed)
    alphabet = "/_-.%0a9ASQ"
    for _ in range(count):
        path = rng.choice(PATHS)
        i = rng.randrange(len(path))
        kind = rng.randrange(4)
        if kind == 0:
            path = path[:i] + path[i + 1:]
        elif kind == 1:
            path = path[:i] + path[i] + path[i:]
        elif kind == 2:
            path = path[:i] + rng.choice(alphabet) + path[i + 1:]
        else:
            path = path[:i] + rng.choice(alphabet) + path[i:]
        yield path if path.startswith("/") else "/" + path


def test_every_skipped_request_is_one_werkzeug_would_not_take():
    r = router()
    conditions = prefilter.Conditions(r.url_map)
    skipped = taken = 0
    for path, host in itertools.chain(itertools.product(PATHS, HOSTS),
                                      ((p, h) for p, h in zip(near_misses(), itertools.cycle(HOSTS)))):
        if conditions.could_match(path, host):
            continue
        skipped += 1
        assert not werkzeug_takes(r, path, host), f"skipped {host} {path}, which werkzeug takes"
    for path, host in itertools.product(PATHS, HOSTS):
        taken += werkzeug_takes(r, path, host)
    assert taken > 100 and skipped > 500, "the corpus comes close to the rules from both sides"


@pytest.mark.parametrize("path", ["/2015-03-31/functions/f/invocations", "/bucket/key", "/", "/000000000000",
                                  "/_localstack/health"])
def test_aws_calls_on_a_plain_host_are_skipped(path):
    conditions = prefilter.Conditions(router().url_map)
    assert not conditions.could_match(path, "localhost.localstack.cloud:4566")


@pytest.mark.parametrize("path,host", [
    ("/000000000000/jobs", "localhost:4566"),  # an SQS queue URL (query protocol)
    ("/_aws/execute-api/abc/prod/items", "localhost:4566"),
    ("//_sandbox//census", "localhost:4566"),  # werkzeug redirects to the merged path
    ("/_aws/execute-api/abc", "localhost:4566"),  # werkzeug redirects to the trailing slash
    ("/anything", "api1.execute-api.localhost.localstack.cloud:4566"),
    ("/", "bucket.s3-website.localhost:4566"),
])
def test_what_the_router_serves_is_still_matched(path, host):
    r = router()
    assert prefilter.Conditions(r.url_map).could_match(path, host)
    assert werkzeug_takes(r, path, host)


def test_a_new_map_brings_new_conditions():
    from werkzeug.routing import Rule

    r = router()
    before = prefilter.conditions_for(r.url_map)
    assert prefilter.conditions_for(r.url_map) is before
    assert not before.could_match("/my/new/resource", "localhost:4566")
    r.add_rule(Rule("/my/new/<path:rest>", host="<__host__>", endpoint="new"))
    after = prefilter.conditions_for(r.url_map)
    assert after is not before and after.could_match("/my/new/resource", "localhost:4566")
    r.add_rule(Rule("/<path:anything>", host="<__host__>", endpoint="catch-all"))
    assert prefilter.conditions_for(r.url_map).could_match("/2015-03-31/functions", "localhost:4566")


def test_the_handler_skips_only_what_cannot_match(monkeypatch):
    from localstack.aws.handlers.legacy import EdgeRouterHandler
    from localstack.http import Request, Response

    prefilter.apply()
    prefilter.apply()
    assert EdgeRouterHandler.__call__._sandbox_prefilter
    handler = EdgeRouterHandler()
    r = router()
    dispatched = []
    monkeypatch.setattr(handler, "router", r)
    monkeypatch.setattr(r, "dispatch", lambda request: dispatched.append(request.path) or Response("routed"))

    class Chain:
        stopped = False

        def stop(self):
            self.stopped = True

    class Context:
        def __init__(self, path):
            self.request = Request("GET", path, headers={"Host": "localhost:4566"})

    chain = Chain()
    handler(chain, Context("/2015-03-31/functions/f/invocations"), Response())
    assert dispatched == [] and not chain.stopped, "an AWS call goes on as after a NotFound"
    response = Response()
    handler(chain, Context("/_sandbox/census"), response)
    assert dispatched == ["/_sandbox/census"] and chain.stopped and response.get_data() == b"routed"


SEGMENTS = ["a", "b", "ab", "<x{i}>", "<path:p{i}>", "<greedy_path:g{i}>", "<int:n{i}>", "<any(a,b):y{i}>",
            "<regex('[a-b]*'):r{i}>", "<regex('[0-9]{{2}}'):d{i}>", "a<regex('b?'):s{i}>", "<regex('a|ab'):t{i}>",
            "<regex('x$'):e{i}>", "<regex('^a'):f{i}>", "<regex('a(?!/)'):h{i}>", "<regex('(?>a*)'):k{i}>", ""]


def test_random_rules_and_paths_werkzeug_takes_are_never_skipped():
    """Rules made of every kind of converter (anchored and lookaround regexes too), merge and strict slashes on or
    off; paths of one or two leading slashes, runs of slashes and trailing ones (after the review's fuzzer)."""
    from localstack.aws.protocol.op_router import GreedyPathConverter
    from rolo import Router
    from werkzeug.routing import Rule

    rng = random.Random(11)
    checked = 0
    for trial in range(150):
        r = Router(converters={"greedy_path": GreedyPathConverter})
        for k in range(rng.randint(1, 3)):
            segments = [rng.choice(SEGMENTS).format(i=j) for j in range(rng.randint(1, 4))]
            template = "/" + "/".join(segments) + rng.choice(["", "/"])
            try:
                r.add_rule(Rule(template, host="<__host__>", endpoint=f"e{k}", merge_slashes=rng.random() < 0.8,
                                strict_slashes=rng.random() < 0.5))
            except Exception:  # noqa: BLE001 - a template werkzeug refuses
                continue
        conditions = prefilter.Conditions(r.url_map)
        for _ in range(40):
            path = "/" * rng.randint(0, 2) + "/".join(rng.choice(["a", "b", "ab", "1", "12", "", "x"])
                                                      for _ in range(rng.randint(1, 5))) + rng.choice(["", "/", "//"])
            if werkzeug_takes(r, path, "localhost"):
                checked += 1
                assert conditions.could_match(path, "localhost"), (
                    f"skipped {path!r}, which werkzeug takes with {[x.rule for x in r.url_map.iter_rules()]}")
    assert checked > 300


def test_a_path_without_its_leading_slash_is_read_as_werkzeug_reads_it():
    conditions = prefilter.Conditions(router().url_map)
    assert conditions.could_match("_sandbox/census", "localhost:4566")
    assert werkzeug_takes(router(), "_sandbox/census", "localhost:4566")


def test_regexes_naming_the_same_group_in_two_rules_do_not_break_the_prefilter():
    from rolo import Router
    from werkzeug.routing import Rule

    r = Router()
    r.add_rule(Rule("/a/<regex('(?P<g>x)'):one>", host="<__host__>", endpoint="one"))
    r.add_rule(Rule("/b/<regex('(?P<g>y)'):two>", host="<__host__>", endpoint="two"))
    conditions = prefilter.Conditions(r.url_map)  # the groups are widened, not compiled together
    assert conditions.could_match("/a/x", "localhost") and conditions.could_match("/b/y", "localhost")
    assert not conditions.could_match("/2015-03-31/functions", "localhost")


def test_segment_converters_stay_in_their_segment():
    """A long path must not make the combined regex backtrack over every way to split it (`.*/.*`)."""
    assert prefilter._path_pattern("/restapis/<api_id>/<stage>/_user_request_", router().url_map.converters) == \
        r"/restapis/[^/]*/[^/]*/_user_request_"
    conditions = prefilter.Conditions(router().url_map)
    assert not conditions.could_match("/restapis/" + "a/" * 8000, "localhost:4566")


def test_a_rule_the_prefilter_cannot_read_leaves_every_request_to_the_router(monkeypatch):
    def unreadable(template, converters):
        raise ValueError(f"malformed rule {template!r}")

    monkeypatch.setattr(prefilter, "_path_pattern", unreadable)
    assert prefilter.Conditions(router().url_map).could_match("/2015-03-31/functions", "localhost")
