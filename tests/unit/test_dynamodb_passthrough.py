"""moto's own DynamoDB answers passed on (sandbox/dynamodb_moto/passthrough.py) read the same to an SDK as LocalStack's
re-serialized ones, less what AWS leaves out (`as_aws_answers`): every operation of a table's life, every attribute
type, run against moto in this process.

For each request the one answer moto wrote is turned both ways - as the passthrough sends it, and as LocalStack did
(parse_response, then its JSON serializer) - and botocore parses both for the operation's output shape."""

from __future__ import annotations

import binascii
import json

import pytest
from botocore.parsers import create_parser

pytest.importorskip("moto")
pytestmark = pytest.mark.usefixtures("no_host_profile")  # tests/conftest.py: the request builder makes a client

from localstack.aws.api import CommonServiceException, ServiceException  # noqa: E402
from localstack.aws.client import parse_response  # noqa: E402
from localstack.aws.forwarder import create_aws_request_context  # noqa: E402
from localstack.aws.protocol.serializer import create_serializer  # noqa: E402
from localstack.http import Response  # noqa: E402

from sandbox.dynamodb_moto import binary_values, passthrough  # noqa: E402

TABLE = "passthrough-test"
ITEM = {
    "k": {"S": "job-1"}, "r": {"N": "1"}, "text": {"S": "héllo ✓"}, "n": {"N": "-12.500"}, "blob": {"B": b"\x00\xffbin"},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"BOOL": False}, {"NULL": True}]}}}, "yes": {"BOOL": True},
    "nothing": {"NULL": True}, "list": {"L": []},
}
KEY = {"k": {"S": "job-1"}, "r": {"N": "1"}}
PLAIN_KEY = {"k": {"S": "plain"}, "r": {"N": "1e2"}}
PLAIN = {**PLAIN_KEY, "text": {"S": "é \u2028 \"B\": not a binary"}, "n": {"N": "-0.000123"}, "ss": {"SS": ["x", "y"]},
         "BOOL": {"BOOL": True}, "m": {"M": {"l": {"L": [{"NULL": True}, {"NS": ["1", "2"]}]}}}}
BINARY_SET_KEY = {"k": {"S": "job-1"}, "r": {"N": "100"}}
NESTED_BINARY_SETS = {"M": {"sets": {"L": [{"BS": [b"\x03"]}, {"M": {"deeper": {"BS": [b"\x04", b"\x05"]}}}]},
                            "binary": {"B": b"\x06"}}}
OPERATIONS = [
    ("CreateTable", {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                     "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"},
                                              {"AttributeName": "r", "AttributeType": "N"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                     "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}],
                     "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    ("DescribeTable", {"TableName": TABLE}),
    ("ListTables", {}),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ReturnValues": "ALL_OLD"}),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"}),
    ("GetItem", {"TableName": TABLE, "Key": KEY}),
    ("GetItem", {"TableName": TABLE, "Key": KEY, "ProjectionExpression": "#m.inner[1], #b",
                 "ExpressionAttributeNames": {"#m": "m", "#b": "blob"}, "ConsistentRead": True}),
    ("PutItem", {"TableName": TABLE, "Item": {**BINARY_SET_KEY, "bs": {"BS": [b"\x01", b"\x02"]},
                                              "nested": NESTED_BINARY_SETS}}),
    ("GetItem", {"TableName": TABLE, "Key": BINARY_SET_KEY}),
    ("GetItem", {"TableName": TABLE, "Key": BINARY_SET_KEY, "ProjectionExpression": "bs, nested"}),  # binary_values.py
    ("GetItem", {"TableName": TABLE, "Key": {"k": {"S": "absent"}, "r": {"N": "0"}}}),
    ("UpdateItem", {"TableName": TABLE, "Key": KEY, "ReturnValues": "ALL_NEW",
                    "UpdateExpression": "SET #l = list_append(#l, :more), g = :g ADD attempts :one REMOVE nothing",
                    "ExpressionAttributeNames": {"#l": "list"},
                    "ExpressionAttributeValues": {":more": {"L": [{"N": "7"}]}, ":one": {"N": "1"}, ":g": {"S": "G"}}}),
    ("UpdateItem", {"TableName": TABLE, "Key": KEY, "UpdateExpression": "SET attempts = attempts + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_OLD"}),
    ("BatchWriteItem", {"RequestItems": {TABLE: [{"PutRequest": {"Item": {**ITEM, "r": {"N": str(i)}}}}
                                                 for i in range(2, 6)]}}),
    ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [KEY, {"k": {"S": "job-1"}, "r": {"N": "3"}}]}}}),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "k = :k", "ExpressionAttributeValues": {":k": {"S": "job-1"}},
               "Limit": 2}),
    ("Query", {"TableName": TABLE, "IndexName": "by-g", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    ("Scan", {"TableName": TABLE, "FilterExpression": "r > :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}),
    ("Scan", {"TableName": TABLE, "Select": "COUNT"}),
    ("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": TABLE, "Item": {**ITEM, "r": {"N": "9"}}}},
        {"Update": {"TableName": TABLE, "Key": KEY, "UpdateExpression": "SET done = :t",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}}}}]}),
    ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": TABLE, "Key": KEY}}]}),
    ("DeleteItem", {"TableName": TABLE, "Key": {"k": {"S": "job-1"}, "r": {"N": "9"}}, "ReturnValues": "ALL_OLD"}),
    # items without binary values: their answers are read with json.loads (passthrough.ITEM_OPERATIONS)
    ("PutItem", {"TableName": TABLE, "Item": PLAIN, "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"}),
    ("PutItem", {"TableName": TABLE, "Item": PLAIN, "ReturnValues": "ALL_OLD"}),
    ("UpdateItem", {"TableName": TABLE, "Key": PLAIN_KEY, "ReturnValues": "ALL_NEW", "ReturnConsumedCapacity": "INDEXES",
                    "UpdateExpression": "SET g = :g ADD attempts :one", "ExpressionAttributeValues": {
                        ":one": {"N": "1"}, ":g": {"S": "plain"}}}),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "k = :k", "ExpressionAttributeValues": {
        ":k": {"S": "plain"}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("DeleteItem", {"TableName": TABLE, "Key": PLAIN_KEY, "ReturnValues": "ALL_OLD"}),
    ("UpdateTimeToLive", {"TableName": TABLE, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}}),
    ("DescribeTimeToLive", {"TableName": TABLE}),
    ("TagResource", {"ResourceArn": "the table's, from CreateTable", "Tags": [{"Key": "team", "Value": "media"}]}),
    ("ListTagsOfResource", {"ResourceArn": "the table's, from CreateTable"}),
    ("DeleteTable", {"TableName": TABLE}),
]


def sets_sorted(value):
    """A typed value with its sets' members in order (sets come back in any order)."""
    if isinstance(value, dict):
        return {key: sorted(member) if key in ("SS", "NS", "BS") else sets_sorted(member) for key, member in value.items()}
    if isinstance(value, list):
        return [sets_sorted(member) for member in value]
    return value


def sdk_view(operation, response) -> dict:
    """What botocore makes of an answer (as boto3 hands it to a caller, without its metadata)."""
    parsed = create_parser("json").parse(
        {"status_code": response.status_code, "headers": dict(response.headers), "body": response.get_data()},
        operation.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


@pytest.fixture
def moto_answers(monkeypatch):
    """Every answer moto writes for the passthrough, kept to be turned LocalStack's way too."""
    binary_values.install()  # as the provider does
    answers = []
    dispatch = passthrough.dispatch_to_moto

    def keep(context):
        answers.append(dispatch(context))
        return answers[-1]

    monkeypatch.setattr(passthrough, "dispatch_to_moto", keep)
    yield answers
    try:
        dispatch(create_aws_request_context("dynamodb", "DeleteTable", parameters={"TableName": TABLE}))
    except (ServiceException, CommonServiceException):
        pass


def test_passed_on_answers_read_as_localstack_serialized_ones(moto_answers, monkeypatch):
    compared, plain_json = [], 0
    for name, params in OPERATIONS:
        if name in ("TagResource", "ListTagsOfResource"):
            params = {**params, "ResourceArn": compared[0][1]["TableDescription"]["TableArn"]}
        context = create_aws_request_context("dynamodb", name, parameters=params)
        sent = passthrough.forward(context, params)
        assert sent.status_code == 200, (name, sent.get_data())
        assert sent.headers["Content-Type"] == "application/x-amz-json-1.0"
        assert sent.headers["x-amzn-RequestId"] == context.request_id
        assert sent.headers["x-amz-crc32"] == str(binascii.crc32(sent.get_data())), "botocore verifies it"
        assert sent.get_data(), "an empty body where LocalStack sent {}"
        # moto's answer less what AWS leaves out (an empty Attributes, ConsumedCapacity not asked for), which the
        # passthrough drops and LocalStack's way would have kept
        moto = moto_answers[-1]
        raw = Response(passthrough.as_aws_answers(name, params, moto.get_data()), moto.status_code, moto.headers)
        localstack_way = create_serializer(context.service).serialize_to_response(
            parse_response(context.operation, context.protocol, raw, include_response_metadata=False),
            context.operation, context.request.headers, context.request_id)
        ours, theirs = sdk_view(context.operation, sent), sdk_view(context.operation, localstack_way)
        assert ours == theirs, name
        parses = []
        monkeypatch.setattr(passthrough, "parse_response", lambda *a, **k: parses.append(1) or parse_response(*a, **k))
        read = dict(context.service_response)
        expected = parse_response(context.operation, context.protocol, raw, include_response_metadata=False)
        assert read == expected and list(read) == list(expected), name  # the keys in the same order too
        compared.append((name, ours))
        plain_json += not parses
    answers = dict(compared)
    assert answers["GetItem"] == {}  # the last GetItem: no such item
    old = [result for name, result in compared if name == "PutItem"][1]["Attributes"]
    assert old["blob"] == {"B": b"\x00\xffbin"} and old["m"]["M"]["inner"]["L"][3] == {"NULL": True}
    assert old["ns"]["NS"] == ["1", "2.5"] or sorted(old["ns"]["NS"]) == ["1", "2.5"]
    whole, projected = (result["Item"] for result in [result for name, result in compared if name == "GetItem"][2:4])
    assert sorted(whole["bs"]["BS"]) == sorted(projected["bs"]["BS"]) == [b"\x01", b"\x02"]
    assert sets_sorted(projected["nested"]) == sets_sorted(whole["nested"]) == sets_sorted(NESTED_BINARY_SETS)
    assert sorted(projected) == ["bs", "nested"]
    assert answers["ListTagsOfResource"]["Tags"] == [{"Key": "team", "Value": "media"}]
    assert answers["Scan"]["Count"] == 6 and len(compared) == len(OPERATIONS)
    assert plain_json >= 10, "too few answers read with json.loads were compared with parse_response"


def error(name: str, params: dict) -> ServiceException:
    with pytest.raises(ServiceException) as raised:
        passthrough.forward(create_aws_request_context("dynamodb", name, parameters=params), params)
    return raised.value


def test_an_error_is_raised_as_localstack_raised_it(moto_answers):
    assert error("GetItem", {"TableName": "no-such-table", "Key": KEY}).code == "ResourceNotFoundException"
    # A failed condition returns the old item: with binaries and binary sets in it, at any depth (moto dumped it
    # with plain json.dumps: a 500; binary_values.py)
    nested = {**ITEM, "r": {"N": "7"}, "nested": NESTED_BINARY_SETS}
    for name, params in OPERATIONS[:1] + [("PutItem", {"TableName": TABLE, "Item": item}) for item in (ITEM, nested)]:
        passthrough.forward(create_aws_request_context("dynamodb", name, parameters=params), params)
    for item in (ITEM, nested):
        failed = error("PutItem", {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(k)",
                                   "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
        assert failed.code == "ConditionalCheckFailedException"
        assert sets_sorted(failed.Item) == sets_sorted(item)


def test_switched_off_it_goes_localstacks_way(moto_answers, monkeypatch):
    monkeypatch.setenv("SANDBOX_DYNAMODB_PASSTHROUGH", "0")
    from sandbox.dynamodb_moto import plugin
    from sandbox.dynamodb_moto.provider import MotoDynamoDBProvider

    table = plugin.dynamodb_dispatch_table(MotoDynamoDBProvider())
    context = create_aws_request_context("dynamodb", "ListTables", parameters={})
    result = table["ListTables"](context, {})
    assert isinstance(result, dict) and "TableNames" in result


def test_the_parsed_answer_is_parsed_once_and_only_when_read(moto_answers, monkeypatch):
    calls = []
    monkeypatch.setattr(passthrough, "parse_response", lambda *args, **kwargs: calls.append(1) or {"TableNames": []})
    context = create_aws_request_context("dynamodb", "ListTables", parameters={})
    passthrough.forward(context, {})
    assert context.service_response and calls == [], "the chain's parser must find it set, unparsed"
    assert context.service_response["TableNames"] == [] and json.dumps(dict(context.service_response))
    assert calls == [1]


def test_a_request_context_is_freed_without_a_cycle_collection(moto_answers):
    """The parsed-on-demand answer must not refer back to the context that holds it: that cycle kept each request's
    context, request and answer until a collection ran (and made every operation dearer)."""
    import gc
    import weakref

    gc.disable()
    try:
        context = create_aws_request_context("dynamodb", "ListTables", parameters={})
        passthrough.forward(context, {})
        gone = weakref.ref(context)
        del context
        assert gone() is None, "the context outlived its last reference"
    finally:
        gc.enable()
