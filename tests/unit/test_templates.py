"""Templates read as CloudFormation reads them, and Globals applied before packaging (sandbox/deploy/templates.py);
SAM's transform run offline (sandbox/deploy/transform.py)."""

import pytest

from sandbox.deploy.templates import apply_packaging_globals, parse
from sandbox.deploy.transform import TransformError, expand

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: src/
    Runtime: python3.13
Resources:
  Own:
    Type: AWS::Serverless::Function
    Properties: {Handler: a.h, CodeUri: own/}
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      Handler: b.h
      Policies:
        - Version: 2012-10-17
          Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: !Sub "arn:aws:s3:::${Bucket}/*"}]
      Environment: {Variables: {WHEN: 2024-01-02T03:04:05Z, ARN: !GetAtt Own.Arn}}
  Inline:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, InlineCode: "def h(e, c): pass"}
"""


def test_dates_stay_strings_and_intrinsics_are_cloudformations():
    t = parse(TEMPLATE)
    fn = t["Resources"]["FromGlobals"]["Properties"]
    assert fn["Policies"][0]["Version"] == "2012-10-17"
    assert fn["Environment"]["Variables"]["WHEN"] == "2024-01-02T03:04:05Z"
    assert fn["Environment"]["Variables"]["ARN"] == {"Fn::GetAtt": ["Own", "Arn"]}
    assert fn["Policies"][0]["Statement"][0]["Resource"] == {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}
    assert parse('{"Resources": {}}') == {"Resources": {}}  # JSON too


def test_globals_give_code_uri_to_functions_without_one():
    t = apply_packaging_globals(parse(TEMPLATE))
    props = {k: v["Properties"] for k, v in t["Resources"].items()}
    assert props["Own"]["CodeUri"] == "own/" and props["FromGlobals"]["CodeUri"] == "src/"
    assert "CodeUri" not in props["Inline"]  # inline code has nothing to package
    assert "CodeUri" not in t["Globals"]["Function"] and t["Globals"]["Function"]["Runtime"] == "python3.13"


def test_the_transform_runs_offline_and_explains_invalid_sam():
    t = apply_packaging_globals(parse(TEMPLATE))
    for resource in t["Resources"].values():
        resource["Properties"].setdefault("CodeUri", "s3://bucket/code.zip")
        if resource["Properties"].get("CodeUri") in ("src/", "own/"):
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    t["Resources"]["Inline"]["Properties"].pop("CodeUri")
    out = expand(t, {}, "eu-west-1")
    assert {r["Type"] for r in out["Resources"].values()} == {"AWS::Lambda::Function", "AWS::IAM::Role"}
    t["Resources"]["Own"]["Properties"]["Events"] = {"E": {"Type": "Nope"}}
    with pytest.raises(TransformError, match="Own.*Nope"):
        expand(t, {}, "eu-west-1")
    plain = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert expand(plain, {}, "us-east-1") is plain


def test_outputs_point_at_the_sandbox():
    from sandbox.deploy.deployer import local_urls

    e = "http://127.0.0.1:4620"
    assert local_urls("https://x1.execute-api.us-east-1.amazonaws.com/Prod/hello", e) == \
        f"{e}/_aws/execute-api/x1/Prod/hello"
    assert local_urls("https://x1.execute-api.us-east-1.amazonaws.com", e) == f"{e}/_aws/execute-api/x1/"
    assert local_urls("http://abc.lambda-url.us-east-1.127.0.0.1:4620/", e) == \
        "http://abc.lambda-url.us-east-1.localhost:4620/"
    assert local_urls("see https://abc.lambda-url.eu-west-1.on.aws/path", e) == \
        "see http://abc.lambda-url.eu-west-1.localhost:4620/path"


def test_misspelt_resource_types_are_named_with_the_nearest_real_one():
    from sandbox.deploy.deployer import misspelt_types, supported_resource_types

    template = {"Resources": {
        "Fn": {"Type": "AWS::Serverless::Functon"}, "Api": {"Type": "AWS::Serverless::HttpAPI"},
        "Odd": {"Type": "AWS::Serverless::Nope"}, "Q": {"Type": "AWS::SQS::Queu"},
        "Pool": {"Type": "AWS::Cognito::UserPool"},  # real, without a provider: unsupported_types' to say
        "Authorizer": {"Type": "AWS::ApiGateway::Authorizer"},  # the same, though near AWS::ApiGatewayV2::Authorizer
        "Case": {"Type": "AWS::Sqs::Queue"},
        "Fn::ForEach::Queues": ["Name", ["A", "B"], {"Q${Name}": {"Type": "AWS::SQS::Queue"}}],
        "Ok": {"Type": "AWS::SQS::Queue"}, "Sam": {"Type": "AWS::Serverless::Function"}, "C": {"Type": "Custom::X"}}}
    assert misspelt_types(template, supported_resource_types()) == [
        "Fn (AWS::Serverless::Functon: did you mean AWS::Serverless::Function?)",
        "Api (AWS::Serverless::HttpAPI: did you mean AWS::Serverless::HttpApi?)",
        "Odd (AWS::Serverless::Nope: not a resource type)",
        "Q (AWS::SQS::Queu: did you mean AWS::SQS::Queue?)",
        "Case (AWS::Sqs::Queue: did you mean AWS::SQS::Queue?)"]


def test_a_misspelt_getatt_attribute_is_named_with_the_one_meant():
    from sandbox.deploy.deployer import misspelt_attributes

    template = parse("""
Resources:
  Jobs: {Type: AWS::SQS::Queue}
  Table: {Type: AWS::DynamoDB::Table}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TYPO: !GetAtt Jobs.Arnn
          FINE: !GetAtt Jobs.QueueUrl
          LIST_FORM: {"Fn::GetAtt": [Table, StreamArm]}
          UNKNOWN_TO_US: !GetAtt Jobs.SomethingElse
          OF_SAM: !GetAtt Fn.Arn
  Esm: {Type: AWS::Lambda::EventSourceMapping, Properties: {FunctionName: f, EventSourceArn: !GetAtt Jobs.Arn}}
  Nested: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: x}}
Outputs:
  NotInLocalStacksSchema: {Value: !GetAtt Esm.EventSourceMappingArn}
  NestedOutput: {Value: !GetAtt Nested.Outputs.TimeoutInMinutes}
  Again: {Value: !GetAtt Jobs.Arnn}
""")
    assert misspelt_attributes(template) == [
        "Jobs.Arnn (AWS::SQS::Queue has no attribute Arnn: did you mean Arn?)",
        "Table.StreamArm (AWS::DynamoDB::Table has no attribute StreamArm: did you mean StreamArn?)"]


def test_a_misspelt_property_is_named_with_the_one_meant_and_real_ones_pass():
    from sandbox.deploy.deployer import misspelt_properties

    template = parse("""
Resources:
  Jobs: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeOut: 60, QueueName: jobs, RedrivePolicy: {}}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {BillingMode: PAY_PER_REQUEST, StreamSpecification: {StreamViewType: NEW_IMAGE}, Nonsense: 1}
  Fn: {Type: AWS::Serverless::Function, Properties: {Timout: 3}}
  Included:
    Type: AWS::SNS::Topic
    Properties: {"Fn::Transform": {Name: AWS::Include, Parameters: {Location: s3://b/k}}}
""")
    assert misspelt_properties(template) == [
        "Jobs: VisibilityTimeOut is not a property of AWS::SQS::Queue (did you mean VisibilityTimeout?)",
        "Table: Nonsense is not a property of AWS::DynamoDB::Table"]  # SAM's own: its transform says


def test_sam_types_without_the_transform_and_unknown_dependencies_are_named():
    from sandbox.deploy.deployer import sam_without_transform, unknown_dependencies

    template = parse("""
Resources:
  Fn: {Type: AWS::Serverless::Function, DependsOn: [Jobs, Missing], Properties: {}}
  Jobs: {Type: AWS::SQS::Queue, DependsOn: FnRole}
""")
    assert sam_without_transform(template) == ["Fn (AWS::Serverless::Function)"]
    assert sam_without_transform({**template, "Transform": "AWS::Serverless-2016-10-31"}) == []
    # FnRole is what SAM expands Fn to: known once the expanded template is given
    assert unknown_dependencies(template) == ["Fn DependsOn Missing", "Jobs DependsOn FnRole"]
    assert unknown_dependencies(template, {"Resources": {"FnRole": {"Type": "AWS::IAM::Role"}}}) == [
        "Fn DependsOn Missing"]


def test_resources_that_depend_on_each_other_in_a_circle_are_named():
    """A GetAtt circle made LocalStack recurse, roll back and then say CREATE_COMPLETE (exit 0); a DependsOn circle
    left a queue outside the stack. AWS refuses both ("Circular dependency between resources")."""
    from sandbox.deploy.deployer import circular_dependencies

    template = parse("""
Resources:
  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt B.QueueName}}
  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${C}-b"}}
  C: {Type: AWS::SQS::Queue, Properties: {Tags: [{Key: a, Value: !GetAtt [A, Arn]}]}}
  D: {Type: AWS::SQS::Queue, DependsOn: E}
  E: {Type: AWS::SQS::Queue, DependsOn: [D]}
  Self: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Self}}
  Fine: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub ["${D}-${X}", {X: !GetAtt E.Arn}]}}
  Local: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub ["${Local}-${Fine.QueueName}", {Local: x}]}}
  Escaped: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${!Escaped}-q"}}
Outputs:
  Loop: {Value: !GetAtt A.Arn}
""")
    assert circular_dependencies(template) == [["A", "B", "C"], ["D", "E"], ["Self"]]
    # a chain is not a circle; parameters, pseudo parameters and Sub's own variables are not resources
    chain = parse("""
Parameters: {Env: {Type: String}}
Resources:
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: !Sub "${Env}-${AWS::Region}"}}
  Fn: {Type: AWS::Lambda::Function, DependsOn: Role, Properties: {Role: !GetAtt Role.Arn}}
  Queue: {Type: AWS::SQS::Queue}
  Mapping: {Type: AWS::Lambda::EventSourceMapping, Properties: {FunctionName: !Ref Fn, EventSourceArn: !GetAtt Queue.Arn}}
""")
    assert circular_dependencies(chain) == []


def test_names_a_template_fixes_are_resolved_and_generated_ones_are_not():
    from sandbox.deploy.intrinsics import literal
    from sandbox.deploy.named_resources import named

    values = {"Env": "dev", "AWS::StackName": "orders", "AWS::Region": "us-east-1"}
    assert literal("jobs", values) == "jobs"
    assert literal({"Ref": "Env"}, values) == "dev" and literal({"Ref": "Nope"}, values) is None
    assert literal({"Fn::Sub": "${AWS::StackName}-jobs-${Env}"}, values) == "orders-jobs-dev"
    assert literal({"Fn::Sub": ["${Prefix}-q", {"Prefix": {"Ref": "Env"}}]}, values) == "dev-q"
    assert literal({"Fn::Sub": "${Missing}-q"}, values) is None
    assert literal({"Fn::Sub": "q-${!Literal}"}, values) == "q-${Literal}"
    assert literal({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}, values) == "a-dev"
    assert literal({"Fn::GetAtt": ["X", "Name"]}, values) is None
    assert literal({"Fn::Sub": ["${A}", {"A": {"Fn::GetAtt": ["X", "Name"]}}]}, values) is None
    assert literal({"Fn::Sub": ["${Env}", "not a map"]}, values) is None
    template = parse("""
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-q"}}
  Generated: {Type: AWS::SQS::Queue}
  Rule: {Type: AWS::Events::Rule, Properties: {Name: nightly, ScheduleExpression: rate(1 day)}}
  Table: {Type: AWS::DynamoDB::Table, Properties: {TableName: t}}
""")
    assert [(i, t, n) for i, t, n, _ in named(template, values)] == [
        ("Q", "AWS::SQS::Queue", "orders-q"), ("Rule", "AWS::Events::Rule", "nightly")]


def test_names_that_need_not_be_free_are_not_checked():
    """False refusals found by a probe with public-style templates: a resource whose Condition may be false, a rule on
    a bus the template makes (names are unique per bus), a bucket named from an SSM parameter (its default is the
    parameter's path), Fn::Transform (AWS::Include) and Fn::ForEach entries under Resources."""
    from sandbox.deploy.deployer import supported_resource_types, unsupported_types
    from sandbox.deploy.named_resources import known_values, named

    template = parse("""
Transform: AWS::LanguageExtensions
Parameters:
  Env: {Type: String, Default: dev}
  BucketNameParam: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /myapp/bucket-name}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  ProdOnly: {Type: AWS::SNS::Topic, Condition: IsProd, Properties: {TopicName: billing-alerts}}
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: !Sub "${AWS::StackName}-bus"}}
  OnOwnBus: {Type: AWS::Events::Rule, Properties: {Name: order-created, EventBusName: !GetAtt Bus.Name}}
  OnDefault: {Type: AWS::Events::Rule, Properties: {Name: order-created, EventBusName: default}}
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref BucketNameParam}}
  Fn::Transform: {Name: AWS::Include, Parameters: {Location: s3://bucket/resources.yaml}}
  Fn::ForEach::Queues: [Name, [A, B], {"Q${Name}": {Type: AWS::SQS::Queue}}]
""")
    values = known_values(template, {}, "orders", "us-east-1", "000000000000")
    assert "BucketNameParam" not in values and values["Env"] == "dev"
    assert [(i, n) for i, _, n, _ in named(template, values)] == [("OnDefault", "order-created")]
    assert unsupported_types(template, supported_resource_types()) == []


def test_custom_resources_are_named_as_not_run():
    from sandbox.deploy.deployer import custom_resource_notes

    template = parse("""
Resources:
  Seed: {Type: Custom::SeedTable, Properties: {ServiceToken: arn:aws:lambda:us-east-1:000000000000:function:seed}}
  Other: {Type: AWS::CloudFormation::CustomResource, Properties: {ServiceToken: x}}
  Queue: {Type: AWS::SQS::Queue}
""")
    (note,) = custom_resource_notes(template)
    assert "Seed (Custom::SeedTable), Other (AWS::CloudFormation::CustomResource)" in note and "never invoked" in note
    assert custom_resource_notes(parse("Resources:\n  Q: {Type: AWS::SQS::Queue}\n")) == []


def test_language_extensions_before_sam_are_left_to_localstack():
    template = parse("""
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Resources:
  Fn::ForEach::Topics: [Name, [A, B], {"${Name}Topic": {Type: AWS::SNS::Topic}}]
""")
    assert expand(template, {}, "us-east-1") is None  # applied by CloudFormation, extensions first


def test_dependencies_are_checked_only_when_every_logical_id_is_known():
    """Fn::ForEach (AWS::LanguageExtensions) makes its logical ids at deploy time, and a SAM template whose transform
    cannot run here has ids SAM would make (ServerlessRestApi, FnRole): a DependsOn on them is valid."""
    from sandbox.deploy.deployer import DeployError, Deployer

    deployer = Deployer.__new__(Deployer)
    deployer.region = "us-east-1"
    for_each = parse("""
Transform: AWS::LanguageExtensions
Resources:
  Fn::ForEach::Queues: [Name, [A, B], {"Queue${Name}": {Type: AWS::SQS::Queue}}]
  Topic: {Type: AWS::SNS::Topic, DependsOn: QueueA}
""")
    assert deployer._check_resource_types(for_each, {}) is not None
    with pytest.raises(DeployError, match="Topic DependsOn Missing"):
        deployer._check_resource_types(parse("""
Resources:
  Topic: {Type: AWS::SNS::Topic, DependsOn: Missing}
"""), {})


def test_a_yaml_alias_bomb_and_an_unknown_tag_are_refused_with_what_is_wrong():
    """A 365-byte file of nine aliases of nine each made deploy walk ~9^8 values for ever, silently; `!Bogus x` was
    taken as `Fn::Bogus` and failed later as an invalid queue name (found by an adversarial probe)."""
    import time

    import yaml

    bomb = "".join(f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'x'] * 9)}]\n"
                   for prev, name in zip([None, *"abcdefgh"], "abcdefghi")) + \
        "Metadata: *i\nResources:\n  Q: {Type: AWS::SQS::Queue}\n"
    started = time.monotonic()
    with pytest.raises(ValueError, match="expands to more than 1,000,000 values: its YAML aliases"):
        parse(bomb)
    assert time.monotonic() - started < 10
    few = parse("x: &x {Type: AWS::SQS::Queue}\nResources:\n  A: *x\n  B: *x\n")  # a few aliases: as SAM CLI reads them
    assert few["Resources"]["A"] == few["Resources"]["B"] == {"Type": "AWS::SQS::Queue"}
    with pytest.raises(yaml.YAMLError, match=r"unknown tag !Bogus: CloudFormation's short forms are !And.*!Sub"):
        parse("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Bogus x}}\n")
    assert parse("A: !Ref X\nB: !GetAtt X.Arn\nC: !ToJsonString {a: 1}\n") == {
        "A": {"Ref": "X"}, "B": {"Fn::GetAtt": ["X", "Arn"]}, "C": {"Fn::ToJsonString": {"a": 1}}}
    # the rule functions of a Rules section are short forms too (a review found them refused)
    rules = parse("Rules:\n  R: {Assertions: [{Assert: !Contains [[dev, prod], !Ref Env]},\n"
                  "    {Assert: !EachMemberIn [!ValueOfAll ['AWS::EC2::Subnet::Id', VpcId], !RefAll 'AWS::EC2::VPC::Id']}]}\n")
    assert rules["Rules"]["R"]["Assertions"][0] == {"Assert": {"Fn::Contains": [["dev", "prod"], {"Ref": "Env"}]}}


def test_a_deploy_whose_sandbox_stops_meanwhile_says_so_instead_of_a_traceback():
    """`sandbox down` during a deploy ended it in ~40 lines of botocore traceback (a 503 from the gateway shutting
    down, DescribeStacks); found by an adversarial probe. Still running: the error is the error."""
    from types import SimpleNamespace

    from botocore.exceptions import ClientError, EndpointConnectionError

    from sandbox.deploy.deployer import Deployer, DeployError

    def failing(error):
        def describe_stacks(**_):
            raise error
        return SimpleNamespace(describe_stacks=describe_stacks)

    unavailable = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": ""},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, "DescribeStacks")
    deployer = Deployer.__new__(Deployer)
    for error in (unavailable, EndpointConnectionError(endpoint_url="http://127.0.0.1:9")):
        deployer.watch = failing(error)
        deployer.sandbox = SimpleNamespace(is_running=lambda: False, not_running_message=lambda: "No sandbox is running "
                                           "at http://127.0.0.1:9: start it with `sandbox up`.")
        with pytest.raises(DeployError, match=r"the sandbox stopped while stack app was being deployed or deleted "
                                              r"\(`sandbox down` in another terminal\?\): No sandbox is running"):
            deployer.stack("app")
        deployer.sandbox = SimpleNamespace(is_running=lambda: True)
        with pytest.raises(type(error)):
            deployer.stack("app")


def test_templates_past_cloudformations_quotas_are_refused(tmp_path):
    """A 5 MB template and one of 560 resources deployed (AWS: 1 MB, 500 resources); found by an adversarial probe."""
    from sandbox.deploy.deployer import Deployer, DeployError, read_template

    big = tmp_path / "big.yaml"
    big.write_text("Resources:\n  Q: {Type: AWS::SQS::Queue}\nMetadata:\n  Pad: '" + "x" * 1_000_001 + "'\n")
    with pytest.raises(DeployError, match=r"big.yaml is 1,000,0\d\d bytes: CloudFormation takes templates of at most "
                                          r"1,000,000 bytes"):
        read_template(big)
    many = {"Resources": {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(501)}}
    deployer = Deployer.__new__(Deployer)
    deployer.region = "us-east-1"
    with pytest.raises(DeployError, match=r"Number of resources, 501, is greater than maximum allowed, 500"):
        deployer._check_resource_types(many, {})
    many["Resources"].pop("Q500")
    assert deployer._check_resource_types(many, {}) is not None


def test_an_export_written_another_way_is_the_same_export():
    """The exports-in-use check compared values as written: `Fn::GetAtt: Q.Arn` and `!GetAtt Q.Arn` differed, and an
    export name it could not resolve counted as dropped (found by a review)."""
    from sandbox.deploy.imports import exported_values

    stack = {"StackName": "core", "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/core/1"}
    short = parse("Outputs:\n  A: {Value: !GetAtt Q.Arn, Export: {Name: !Sub '${AWS::StackName}-QArn'}}\n")
    long = parse('{"Outputs": {"A": {"Value": {"Fn::GetAtt": "Q.Arn"}, "Export": {"Name": "core-QArn"}}}}')
    assert exported_values(short, stack, {}) == exported_values(long, stack, {}) == (
        {"core-QArn": {"Fn::GetAtt": ["Q", "Arn"]}}, True)
    joined = parse("Outputs:\n  A: {Value: !GetAtt Q.Arn, Export: {Name: !Join ['-', [!Ref AWS::StackName, QArn]]}}\n")
    assert exported_values(joined, stack, {}) == exported_values(long, stack, {})
    unknown = parse("Outputs:\n  A: {Value: !GetAtt Q.Arn, Export: {Name: !GetAtt Q.QueueName}}\n")
    assert exported_values(unknown, stack, {}) == ({}, False)  # not resolved here: not taken for a dropped export


def test_only_a_template_with_fn_transform_is_evaluated_before_the_sam_transform():
    """cfn_sam_generated_refs skips LocalStack's look for Fn::Transform (which evaluates the template as written, and
    failed on `!Ref MyApi.Stage`) when there is none to find."""
    from sandbox.localstack_ext.patches.cfn_sam_generated_refs import has_local_transform

    sam = parse("""Transform: AWS::Serverless-2016-10-31
Resources:
  Plan: {Type: AWS::ApiGateway::UsagePlan, Properties: {ApiStages: [{ApiId: !Ref Api, Stage: !Ref Api.Stage}]}}
""")
    included = parse("""Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Fn::Transform: {Name: AWS::Include, Parameters: {Location: s3://b/k.yaml}}
""")
    assert not has_local_transform(sam) and has_local_transform(included)
    assert not has_local_transform(None) and has_local_transform([{"a": [{"Fn::Transform": {}}]}])
