"""DynamoDB and DynamoDB Streams served by moto inside the embedded LocalStack (sandbox/dynamodb_moto)."""

import json
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError, InvalidRetryConfigurationError

# --- helpers ----------------------------------------------------------------------------------------------------

_clients = {}


def client(sb, service):
    """A client that does not retry: a request that fails must fail the test, not pass on its second attempt."""
    key = (id(sb), service)
    if key not in _clients:
        try:
            # sandbox.clients.make_client passes max_attempts to botocore's `retries["max_attempts"]`, which
            # counts retries, not attempts: its default of 1 means one retry
            _clients[key] = sb.client(service, max_attempts=0)
        except InvalidRetryConfigurationError:  # max_attempts=0 refused: it counts attempts now
            _clients[key] = sb.client(service, max_attempts=1)
    return _clients[key]


def create_table(sb, name, *, range_key=None, gsi=False, stream=None):
    ddb = client(sb, "dynamodb")
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key, "AttributeType": "N"})
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    kwargs = {}
    if gsi:
        attrs += [{"AttributeName": "gsi1pk", "AttributeType": "S"}, {"AttributeName": "gsi1sk", "AttributeType": "S"}]
        kwargs["GlobalSecondaryIndexes"] = [{
            "IndexName": "gsi1",
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }]
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    resp = ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
                            **kwargs)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return resp["TableDescription"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def all_records(sb, stream_arn, iterator_type="TRIM_HORIZON", **kwargs):
    """Every record of the (single-shard) stream from `iterator_type` on, and the shard iterator after them."""
    st = client(sb, "dynamodbstreams")
    shard = st.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = st.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType=iterator_type,
                               **kwargs)["ShardIterator"]
    records = []
    while True:
        resp = st.get_records(ShardIterator=it)
        records += resp["Records"]
        it = resp.get("NextShardIterator")
        if not resp["Records"] or not it:
            return records, it


def item(pk, **attrs):
    out = {"pk": {"S": pk}}
    for name, value in attrs.items():
        out[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return out


# --- DynamoDB ---------------------------------------------------------------------------------------------------


def test_table_lifecycle_items_and_gsi_query(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("orders")
    desc = create_table(sb, name, gsi=True)
    assert desc["TableStatus"] == "ACTIVE" and desc["TableArn"].endswith(f":table/{name}")
    table = ddb.describe_table(TableName=name)["Table"]
    assert [k["KeyType"] for k in table["KeySchema"]] == ["HASH"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "gsi1"
    assert name in ddb.list_tables()["TableNames"]

    for i, status in enumerate(["open", "open", "shipped"]):
        ddb.put_item(TableName=name, Item=item(f"order-{i}", gsi1pk=f"status#{status}", gsi1sk=f"2024-01-0{i + 1}",
                                               total=10 * (i + 1)))
    got = ddb.get_item(TableName=name, Key={"pk": {"S": "order-1"}}, ConsistentRead=True)["Item"]
    assert got["total"] == {"N": "20"}
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "nope"}})

    resp = ddb.query(TableName=name, IndexName="gsi1", KeyConditionExpression="gsi1pk = :s AND gsi1sk >= :d",
                     ExpressionAttributeValues={":s": {"S": "status#open"}, ":d": {"S": "2024-01-01"}},
                     ScanIndexForward=False)
    assert [i["pk"]["S"] for i in resp["Items"]] == ["order-1", "order-0"]
    assert resp["Count"] == 2

    old = ddb.delete_item(TableName=name, Key={"pk": {"S": "order-2"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old["gsi1pk"] == {"S": "status#shipped"}
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 2

    ddb.delete_table(TableName=name)
    assert name not in ddb.list_tables()["TableNames"]
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=name)


def test_scan_and_query_paginate(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("events")
    create_table(sb, name, range_key="n")
    for chunk in range(2):  # BatchWriteItem takes at most 25 requests
        ddb.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": "p" if n % 2 else "q"}, "n": {"N": str(n)}}}}
            for n in range(chunk * 20, chunk * 20 + 20)
        ]})

    seen, pages, start = [], 0, None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        resp = ddb.scan(TableName=name, Limit=7, **kwargs)
        seen += [(i["pk"]["S"], int(i["n"]["N"])) for i in resp["Items"]]
        pages += 1
        start = resp.get("LastEvaluatedKey")
        if not start:
            break
    assert pages == 6 and len(seen) == 40 and len(set(seen)) == 40

    paginator = ddb.get_paginator("query")
    pages = list(paginator.paginate(TableName=name, KeyConditionExpression="pk = :p AND n BETWEEN :a AND :b",
                                    ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "5"}, ":b": {"N": "30"}},
                                    PaginationConfig={"PageSize": 4}))
    numbers = [int(i["n"]["N"]) for page in pages for i in page["Items"]]
    assert numbers == list(range(5, 31, 2))
    assert len(pages) >= 4

    filtered = ddb.scan(TableName=name, FilterExpression="n < :x", ExpressionAttributeValues={":x": {"N": "3"}})
    assert sorted(int(i["n"]["N"]) for i in filtered["Items"]) == [0, 1, 2]


def test_update_item_and_condition_expressions(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("counters")
    create_table(sb, name)

    resp = ddb.update_item(TableName=name, Key={"pk": {"S": "c"}}, UpdateExpression="ADD hits :one SET #s = :s",
                           ExpressionAttributeNames={"#s": "state"},
                           ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "new"}}, ReturnValues="ALL_NEW")
    assert resp["Attributes"] == {"pk": {"S": "c"}, "hits": {"N": "1"}, "state": {"S": "new"}}

    resp = ddb.update_item(TableName=name, Key={"pk": {"S": "c"}}, UpdateExpression="SET hits = hits + :one",
                           ConditionExpression="hits < :max",
                           ExpressionAttributeValues={":one": {"N": "1"}, ":max": {"N": "2"}}, ReturnValues="UPDATED_NEW")
    assert resp["Attributes"] == {"hits": {"N": "2"}}

    # the condition now fails: the modeled exception class, the AWS error code, the item unchanged
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as exc:
        ddb.update_item(TableName=name, Key={"pk": {"S": "c"}}, UpdateExpression="SET hits = hits + :one",
                        ConditionExpression="hits < :max",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":max": {"N": "2"}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error_code(exc) == "ConditionalCheckFailedException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Item"]["hits"] == {"N": "2"}
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "c"}})["Item"]["hits"] == {"N": "2"}

    # create-only put (idempotency key pattern)
    ddb.put_item(TableName=name, Item=item("once", v=1), ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=name, Item=item("once", v=2), ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.delete_item(TableName=name, Key={"pk": {"S": "once"}}, ConditionExpression="v = :two",
                        ExpressionAttributeValues={":two": {"N": "2"}})
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "once"}})["Item"]["v"] == {"N": "1"}


def test_transact_write_items_is_all_or_nothing(sb, helpers):
    ddb = client(sb, "dynamodb")
    accounts = helpers.unique("accounts")
    create_table(sb, accounts)
    ddb.put_item(TableName=accounts, Item=item("alice", balance=100))
    ddb.put_item(TableName=accounts, Item=item("bob", balance=0))

    def transfer(amount, audit_id):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": accounts, "Key": {"pk": {"S": "alice"}},
                        "UpdateExpression": "SET balance = balance - :a", "ConditionExpression": "balance >= :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
            {"Update": {"TableName": accounts, "Key": {"pk": {"S": "bob"}},
                        "UpdateExpression": "SET balance = balance + :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
            {"Put": {"TableName": accounts, "Item": item(audit_id, amount=amount),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ])

    transfer(60, "audit-1")
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as exc:
        transfer(60, "audit-2")  # alice has only 40 left
    assert error_code(exc) == "TransactionCanceledException"
    reasons = [r["Code"] for r in exc.value.response["CancellationReasons"]]
    assert reasons == ["ConditionalCheckFailed", "None", "None"]

    balances = {i["pk"]["S"]: i.get("balance", i.get("amount"))["N"]
                for i in ddb.scan(TableName=accounts, ConsistentRead=True)["Items"]}
    assert balances == {"alice": "40", "bob": "60", "audit-1": "60"}  # nothing of the cancelled transfer


def test_batch_write_and_batch_get(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("batch")
    create_table(sb, name)
    resp = ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item(f"k{i}", v=i)}} for i in range(10)]})
    assert resp["UnprocessedItems"] == {}
    ddb.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}},
                                              {"PutRequest": {"Item": item("k1", v=100)}}]})
    got = ddb.batch_get_item(RequestItems={name: {"Keys": [{"pk": {"S": k}} for k in ("k0", "k1", "k9")]}})
    values = {i["pk"]["S"]: i["v"]["N"] for i in got["Responses"][name]}
    assert values == {"k1": "100", "k9": "9"}
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 9


def test_ttl_configuration(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("sessions")
    create_table(sb, name)
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    resp = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert resp["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_tags_and_list_tables_pagination(sb, helpers):
    ddb = client(sb, "dynamodb")
    names = sorted(helpers.unique(f"t{i}") for i in range(3))
    for name in names:
        create_table(sb, name)
    arn = ddb.describe_table(TableName=names[0])["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    first = ddb.list_tables(Limit=2)
    assert len(first["TableNames"]) == 2 and first["LastEvaluatedTableName"] == first["TableNames"][-1]
    rest = ddb.list_tables(ExclusiveStartTableName=first["LastEvaluatedTableName"])
    assert sorted(first["TableNames"] + rest["TableNames"]) == names


def test_missing_table_is_resource_not_found(sb):
    ddb = client(sb, "dynamodb")
    calls = [
        lambda: ddb.describe_table(TableName="no-such-table"),
        lambda: ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}}),
        lambda: ddb.put_item(TableName="no-such-table", Item={"pk": {"S": "a"}}),
        lambda: ddb.query(TableName="no-such-table", KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "a"}}),
        lambda: ddb.scan(TableName="no-such-table"),
        lambda: ddb.delete_table(TableName="no-such-table"),
    ]
    for call in calls:
        with pytest.raises(ddb.exceptions.ResourceNotFoundException) as exc:
            call()
        assert error_code(exc) == "ResourceNotFoundException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("keys, attrs, message", [
    # moto accepts these three and creates a broken table (sandbox/dynamodb_moto/provider.py validates them)
    ([("pk", "RANGE")], [("pk", "S")], "The first KeySchemaElement is not a HASH key type"),
    ([("pk", "HASH"), ("sk", "HASH")], [("pk", "S"), ("sk", "S")], "The second KeySchemaElement is not a RANGE key type"),
    ([("pk", "HASH"), ("pk", "RANGE")], [("pk", "S")], "have the same name"),
    ([("pk", "HASH")], [("pk", "BOOL")], "Member must satisfy enum value set: [B, N, S]"),
    # moto's own checks
    ([("pk", "HASH")], [("other", "S")], "Some index key attributes are not defined in AttributeDefinitions"),
    ([("pk", "PRIMARY")], [("pk", "S")], "keyType"),
])
def test_bad_key_schema_is_validation_exception(sb, keys, attrs, message):
    ddb = client(sb, "dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.create_table(TableName="bad-schema", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": n, "KeyType": t} for n, t in keys],
                         AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attrs])
    assert error_code(exc) == "ValidationException"
    assert message in exc.value.response["Error"]["Message"]
    assert "bad-schema" not in ddb.list_tables()["TableNames"]


def test_bad_item_keys_are_validation_exception(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("keys")
    create_table(sb, name)
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key={"id": {"S": "a"}})
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"v": {"S": "no key"}})
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"N": "1"}})  # pk is a string attribute
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ddb.exceptions.ResourceInUseException):
        create_table(sb, name)


def test_concurrent_writes_and_scans(sb, helpers):
    """moto's models are not thread-safe; the provider serializes requests (streams.LOCK)."""
    name = helpers.unique("busy")
    create_table(sb, name, stream="NEW_IMAGE")
    errors = []

    def writer(w):
        ddb = client(sb, "dynamodb")
        try:
            for i in range(25):
                ddb.put_item(TableName=name, Item=item(f"w{w}-{i}", v=i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def scanner():
        ddb = client(sb, "dynamodb")
        try:
            for _ in range(20):
                ddb.scan(TableName=name)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)] + [threading.Thread(target=scanner)
                                                                             for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert client(sb, "dynamodb").scan(TableName=name, Select="COUNT")["Count"] == 150
    arn = client(sb, "dynamodb").describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records, _ = all_records(sb, arn)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert len(records) == 150 and seqs == sorted(seqs) and len(set(seqs)) == 150


# --- DynamoDB Streams -------------------------------------------------------------------------------------------


def test_stream_records_have_the_aws_shape(sb, helpers):
    ddb, st = client(sb, "dynamodb"), client(sb, "dynamodbstreams")
    name = helpers.unique("streamed")
    desc = create_table(sb, name, range_key="n", stream="NEW_AND_OLD_IMAGES")
    arn = desc["LatestStreamArn"]
    assert arn == f"{desc['TableArn']}/stream/{desc['LatestStreamLabel']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", desc["LatestStreamLabel"])  # AWS: milliseconds
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}

    stream = st.describe_stream(StreamArn=arn)["StreamDescription"]
    assert stream["StreamStatus"] == "ENABLED" and stream["TableName"] == name
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES" and stream["StreamLabel"] == desc["LatestStreamLabel"]
    assert stream["KeySchema"] == desc["KeySchema"]
    assert len(stream["Shards"]) == 1 and stream["Shards"][0]["ShardId"].startswith("shardId-")
    assert st.list_streams(TableName=name)["Streams"] == [
        {"StreamArn": arn, "TableName": name, "StreamLabel": desc["LatestStreamLabel"]}]

    key = {"pk": {"S": "a"}, "n": {"N": "1"}}
    ddb.put_item(TableName=name, Item={**key, "v": {"S": "one"}})
    ddb.update_item(TableName=name, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "two"}})
    ddb.delete_item(TableName=name, Key=key)

    records, _ = all_records(sb, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    for r in records:
        assert r["eventSource"] == "aws:dynamodb" and r["eventVersion"] == "1.1" and r["awsRegion"] == "us-east-1"
        assert len(r["eventID"]) == 32
        assert r["dynamodb"]["Keys"] == key
        assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert r["dynamodb"]["SizeBytes"] > 0
        assert r["dynamodb"]["ApproximateCreationDateTime"].year >= 2024
    assert insert["dynamodb"]["NewImage"] == {**key, "v": {"S": "one"}} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"S": "one"} and modify["dynamodb"]["NewImage"]["v"] == {"S": "two"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"S": "two"} and "NewImage" not in remove["dynamodb"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_stream_view_types_and_writes_that_change_nothing(sb, helpers):
    ddb = client(sb, "dynamodb")
    keys_only = helpers.unique("keysonly")
    arn = create_table(sb, keys_only, stream="KEYS_ONLY")["LatestStreamArn"]
    ddb.put_item(TableName=keys_only, Item=item("a", v=1))
    ddb.put_item(TableName=keys_only, Item=item("a", v=1))  # identical: AWS writes no stream record
    ddb.update_item(TableName=keys_only, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "1"}})  # same value: no record either
    ddb.delete_item(TableName=keys_only, Key={"pk": {"S": "missing"}})  # nothing deleted: no record
    # UpdateItem creating an item: one INSERT with the whole item (moto recorded two INSERTs, the first keys only)
    ddb.update_item(TableName=keys_only, Key={"pk": {"S": "b"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    records, _ = all_records(sb, arn)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [("INSERT", "a"), ("INSERT", "b")]
    assert all("NewImage" not in r["dynamodb"] and "OldImage" not in r["dynamodb"] for r in records)

    new_image = helpers.unique("newimage")
    arn = create_table(sb, new_image, stream="NEW_IMAGE")["LatestStreamArn"]
    ddb.update_item(TableName=new_image, Key={"pk": {"S": "b"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.update_item(TableName=new_image, Key={"pk": {"S": "b"}}, UpdateExpression="ADD v :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    records, _ = all_records(sb, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == item("b", v=2)
    assert records[1]["dynamodb"]["NewImage"] == item("b", v=3) and "OldImage" not in records[1]["dynamodb"]


def test_stream_binary_attributes_round_trip(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("binary")
    arn = create_table(sb, name, stream="NEW_AND_OLD_IMAGES")["LatestStreamArn"]
    blob = bytes(range(256))
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "raw": {"B": blob}, "set": {"BS": [b"x", b"y"]},
                                       "nested": {"M": {"inner": {"B": b"\x00\xff"}, "list": {"L": [{"B": b"z"}]}}}})
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "b"}})["Item"]["raw"] == {"B": blob}
    records, _ = all_records(sb, arn)
    image = records[0]["dynamodb"]["NewImage"]
    assert image["raw"] == {"B": blob}
    assert sorted(image["set"]["BS"]) == [b"x", b"y"]
    assert image["nested"]["M"]["inner"] == {"B": b"\x00\xff"} and image["nested"]["M"]["list"]["L"] == [{"B": b"z"}]


def test_stream_batch_and_transaction_writes(sb, helpers):
    ddb = client(sb, "dynamodb")
    name = helpers.unique("txn")
    arn = create_table(sb, name, stream="NEW_AND_OLD_IMAGES")["LatestStreamArn"]
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item(f"b{i}", v=i)}} for i in range(3)]})
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": name, "Key": {"pk": {"S": "t1"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}}}},
        {"Delete": {"TableName": name, "Key": {"pk": {"S": "b0"}}}},
    ])
    records, _ = all_records(sb, arn)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
        ("INSERT", "b0"), ("INSERT", "b1"), ("INSERT", "b2"), ("INSERT", "t1"), ("REMOVE", "b0")]
    assert records[3]["dynamodb"]["NewImage"] == item("t1", v=1)


def test_shard_iterator_types_and_limit(sb, helpers):
    ddb, st = client(sb, "dynamodb"), client(sb, "dynamodbstreams")
    name = helpers.unique("iters")
    arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    shard = st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    latest = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    for i in range(5):
        ddb.put_item(TableName=name, Item=item(f"k{i}", v=i))

    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = st.get_records(ShardIterator=it, Limit=2)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in first["Records"]] == ["k0", "k1"]
    second = st.get_records(ShardIterator=first["NextShardIterator"], Limit=2)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in second["Records"]] == ["k2", "k3"]
    # an iterator can be read again (AWS: until it expires)
    assert st.get_records(ShardIterator=it, Limit=1)["Records"][0]["dynamodb"]["Keys"]["pk"]["S"] == "k0"

    # LATEST taken before the writes sees all of them; taken now, none
    assert len(st.get_records(ShardIterator=latest)["Records"]) == 5
    now = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    empty = st.get_records(ShardIterator=now)
    assert empty["Records"] == [] and empty["NextShardIterator"]

    seq = first["Records"][1]["dynamodb"]["SequenceNumber"]
    records, _ = all_records(sb, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seq)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["k1", "k2", "k3", "k4"]
    records, _ = all_records(sb, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["k2", "k3", "k4"]


def test_streams_errors(sb, helpers):
    st = client(sb, "dynamodbstreams")
    name = helpers.unique("errs")
    arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    missing = arn.replace(f"table/{name}/", "table/no-such-table/")
    with pytest.raises(st.exceptions.ResourceNotFoundException):
        st.describe_stream(StreamArn=missing)
    with pytest.raises(st.exceptions.ResourceNotFoundException):
        st.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000",
                              ShardIteratorType="TRIM_HORIZON")
    with pytest.raises(ClientError) as exc:
        st.get_records(ShardIterator="not-an-iterator-at-all")  # moto: InternalError (HTTP 500)
    assert error_code(exc) == "ValidationException"
    shard = st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(ClientError) as exc:
        st.get_records(ShardIterator=it, Limit=1001)
    assert error_code(exc) == "ValidationException"
    client(sb, "dynamodb").delete_table(TableName=name)
    with pytest.raises(st.exceptions.ResourceNotFoundException):
        st.get_records(ShardIterator=it)


def test_stream_keeps_working_after_a_failed_transaction(sb, helpers):
    """moto: a cancelled TransactWriteItems swaps in deep copies of its tables, and moto's shard iterators kept
    reading the detached stream shard (moto.dynamodbstreams.models.ShardIterator); ours are resolved per call."""
    ddb, st = client(sb, "dynamodb"), client(sb, "dynamodbstreams")
    name = helpers.unique("rollback")
    arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    ddb.put_item(TableName=name, Item=item("a", v=1))
    records, it = all_records(sb, arn)
    assert len(records) == 1
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": item("b", v=2)}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "v = :x",
                                "ExpressionAttributeValues": {":x": {"N": "99"}}}},
        ])
    ddb.put_item(TableName=name, Item=item("c", v=3))
    resp = st.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]] == ["c"]  # nothing of the cancelled one


def test_disable_and_reenable_stream(sb, helpers):
    """moto kept recording into a disabled stream and refused to enable it again ("Cannot enable stream")."""
    ddb, st = client(sb, "dynamodb"), client(sb, "dynamodbstreams")
    name = helpers.unique("toggle")
    old_arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    ddb.put_item(TableName=name, Item=item("before", v=1))
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName=name, Item=item("while-disabled", v=1))
    old = st.describe_stream(StreamArn=old_arn)["StreamDescription"]
    assert old["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in old["Shards"][0]["SequenceNumberRange"]
    records, it = all_records(sb, old_arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["before"] and it is None  # closed shard

    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    table = ddb.describe_table(TableName=name)["Table"]
    new_arn = table["LatestStreamArn"]
    assert new_arn != old_arn and table["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"
    ddb.put_item(TableName=name, Item=item("after", v=1))
    records, _ = all_records(sb, new_arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["after"]
    assert {s["StreamArn"] for s in st.list_streams(TableName=name)["Streams"]} == {old_arn, new_arn}
    with pytest.raises(ClientError) as exc:  # the view type of a stream cannot change in place
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    assert error_code(exc) == "ValidationException"
    assert "Table already has an enabled stream" in exc.value.response["Error"]["Message"]
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    assert "Table has no stream to disable" in exc.value.response["Error"]["Message"]


# --- Lambda event source mappings on a stream --------------------------------------------------------------------

RECORDER = '''
import json, os, boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    ddb.put_item(TableName=os.environ["SINK"], Item={
        "pk": {"S": context.aws_request_id},
        "event": {"S": json.dumps(event)},
    })
    return {"batchItemFailures": []}
'''


def received_batches(sb, sink):
    items = client(sb, "dynamodb").scan(TableName=sink, ConsistentRead=True)["Items"]
    batches = [json.loads(i["event"]["S"])["Records"] for i in items]
    return sorted(batches, key=lambda b: int(b[0]["dynamodb"]["SequenceNumber"]))


def create_mapping(sb, fn, stream_arn, **kwargs):
    lam = client(sb, "lambda")
    uuid = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=stream_arn, **kwargs)["UUID"]
    return uuid


def wait_enabled(sb, helpers, uuid):
    lam = client(sb, "lambda")
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", timeout=20,
                     message="the event source mapping to be Enabled")


def test_event_source_mapping_trim_horizon_batches_in_order(sb, helpers):
    ddb = client(sb, "dynamodb")
    source, sink = helpers.unique("source"), helpers.unique("sink")
    stream_arn = create_table(sb, source, stream="NEW_AND_OLD_IMAGES")["LatestStreamArn"]
    create_table(sb, sink)
    # written before the mapping exists: TRIM_HORIZON delivers them
    for i in range(5):
        ddb.put_item(TableName=source, Item=item(f"k{i}", v=i))
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"SINK": sink}})
    uuid = create_mapping(sb, fn, stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=2)
    wait_enabled(sb, helpers, uuid)
    ddb.update_item(TableName=source, Key={"pk": {"S": "k1"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "10"}})
    ddb.delete_item(TableName=source, Key={"pk": {"S": "k2"}})

    def all_delivered():
        batches = received_batches(sb, sink)
        return batches if sum(len(b) for b in batches) >= 7 else None

    batches = helpers.wait_for(all_delivered, timeout=30, message="7 stream records delivered to the function")
    records = [r for b in batches for r in b]
    assert len(records) == 7
    assert all(1 <= len(b) <= 2 for b in batches)  # BatchSize
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
        ("INSERT", "k0"), ("INSERT", "k1"), ("INSERT", "k2"), ("INSERT", "k3"), ("INSERT", "k4"),
        ("MODIFY", "k1"), ("REMOVE", "k2")]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7  # in order, each once
    first, modify, remove = records[0], records[5], records[6]
    assert first["eventSource"] == "aws:dynamodb" and first["eventSourceARN"] == stream_arn
    assert first["awsRegion"] == "us-east-1" and first["eventVersion"] == "1.1" and len(first["eventID"]) == 32
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    assert first["dynamodb"]["NewImage"] == item("k0", v=0) and "OldImage" not in first["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "10"}
    assert remove["dynamodb"]["OldImage"] == item("k2", v=2) and "NewImage" not in remove["dynamodb"]
    assert remove["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_event_source_mapping_latest_skips_older_records(sb, helpers):
    ddb = client(sb, "dynamodb")
    source, sink = helpers.unique("source"), helpers.unique("sink")
    stream_arn = create_table(sb, source, stream="NEW_IMAGE")["LatestStreamArn"]
    create_table(sb, sink)
    ddb.put_item(TableName=source, Item=item("old", v=0))
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"SINK": sink}})
    uuid = create_mapping(sb, fn, stream_arn, StartingPosition="LATEST", BatchSize=10)
    wait_enabled(sb, helpers, uuid)
    # LATEST starts where the stream is at the mapping's first poll, which follows "Enabled" closely but not
    # atomically (as on AWS): keep writing until something arrives.
    written = []

    def delivered():
        written.append(f"new-{len(written)}")
        ddb.put_item(TableName=source, Item=item(written[-1], v=len(written)))
        return received_batches(sb, sink)

    batches = helpers.wait_for(delivered, timeout=30, interval=0.3, message="a record after LATEST")
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for b in batches for r in b]
    assert "old" not in keys
    assert keys == written[written.index(keys[0]):written.index(keys[0]) + len(keys)]  # a gap-free run, in order


def test_event_source_mapping_filter_criteria(sb, helpers):
    ddb = client(sb, "dynamodb")
    source, sink = helpers.unique("source"), helpers.unique("sink")
    stream_arn = create_table(sb, source, stream="NEW_AND_OLD_IMAGES")["LatestStreamArn"]
    create_table(sb, sink)
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"SINK": sink}})
    uuid = create_mapping(sb, fn, stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=10,
                          FilterCriteria={"Filters": [{"Pattern": json.dumps({
                              "eventName": ["REMOVE"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "keep"}]}}},
                          })}]})
    keys = ["drop-0", "keep-1", "drop-2", "keep-3"]
    for k in keys:
        ddb.put_item(TableName=source, Item=item(k, v=1))
    for k in keys:
        ddb.delete_item(TableName=source, Key={"pk": {"S": k}})
    wait_enabled(sb, helpers, uuid)

    def removes():
        records = [r for b in received_batches(sb, sink) for r in b]
        return records if len(records) >= 2 else None

    records = helpers.wait_for(removes, timeout=30, message="the filtered REMOVE records")
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [("REMOVE", "keep-1"), ("REMOVE", "keep-3")]


# --- reset ------------------------------------------------------------------------------------------------------


def test_reset_empties_tables_and_streams(sb, helpers):
    ddb, st = client(sb, "dynamodb"), client(sb, "dynamodbstreams")
    name = helpers.unique("doomed")
    arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    ddb.put_item(TableName=name, Item=item("a", v=1))
    assert ddb.list_tables()["TableNames"] == [name]
    assert len(st.list_streams()["Streams"]) == 1

    sb.reset()
    assert ddb.list_tables()["TableNames"] == []
    assert st.list_streams()["Streams"] == []
    with pytest.raises(st.exceptions.ResourceNotFoundException):
        st.describe_stream(StreamArn=arn)
    # the same name is free again, with a new stream and no old records
    new_arn = create_table(sb, name, stream="NEW_IMAGE")["LatestStreamArn"]
    assert new_arn != arn
    assert all_records(sb, new_arn)[0] == []


def test_an_idle_stream_mapping_waits_between_empty_polls_and_still_delivers(sb, helpers):
    """Patch stream_esm_idle_wait: LocalStack's stream poller never reports an empty GetRecords, so with the sandbox's
    poll interval of 0 an idle mapping asked ~1,000 times a second and kept a core busy (stream-audit deployed,
    nothing happening: 90-107 % CPU)."""
    ddb = client(sb, "dynamodb")
    source, sink = helpers.unique("source"), helpers.unique("sink")
    stream_arn = create_table(sb, source, stream="NEW_IMAGE")["LatestStreamArn"]
    create_table(sb, sink)
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"SINK": sink}})
    wait_enabled(sb, helpers, create_mapping(sb, fn, stream_arn, StartingPosition="TRIM_HORIZON"))
    time.sleep(1)
    cursor = sb.events(limit=1)["cursor"]
    time.sleep(3)
    polls = [s for s in sb.events(since=cursor, limit=10_000, all=True)["events"] if s["operation"] == "GetRecords"]
    # 0.25 s apart: ~12 in 3 s; without the wait it was ~900 a second
    assert 1 <= len(polls) <= 20, f"{len(polls)} GetRecords in 3 s of quiet"
    ddb.put_item(TableName=source, Item=item("after-quiet", v=1))
    batches = helpers.wait_for(lambda: received_batches(sb, sink), timeout=10, message="the record after the quiet")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for b in batches for r in b] == ["after-quiet"]


def test_write_answers_leave_out_what_aws_leaves_out(sb, helpers):
    """moto answered an empty `Attributes` (DeleteItem of no item with ALL_OLD, UpdateItem without ReturnValues) and
    `ConsumedCapacity` nobody asked for: `if (!Attributes) return 404` never answered 404."""
    ddb = client(sb, "dynamodb")
    name = helpers.unique("answers")
    create_table(sb, name)
    put = ddb.put_item(TableName=name, Item=item("a", v=1))
    assert "ConsumedCapacity" not in put and "Attributes" not in put
    gone = ddb.delete_item(TableName=name, Key={"pk": {"S": "nope"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in gone and "ConsumedCapacity" not in gone
    updated = ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                              ExpressionAttributeValues={":v": {"N": "2"}})
    assert "Attributes" not in updated and "ConsumedCapacity" not in updated
    old = ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    assert old["Attributes"] == item("a", v=2) and old["ConsumedCapacity"]["TableName"] == name
    got = ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert "Item" not in got and "ConsumedCapacity" not in got
