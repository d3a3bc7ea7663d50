"""Which exports a template imports (sandbox/deploy/imports.py): what `destroy` checks before deleting an exporter."""

from sandbox.deploy import templates
from sandbox.deploy.imports import imported_names


def test_imports_are_found_as_templates_write_them():
    template = templates.parse("""Parameters:
  Net: {Type: String}
Resources:
  A:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !ImportValue orders-core-TopicArn
      Endpoint: !ImportValue
        Fn::Sub: "${Net}-QueueArn"
      Stack: !ImportValue {'Fn::Sub': '${AWS::StackName}-Own'}
      Local: !ImportValue {'Fn::Sub': ['${X}-Y', {X: lit}]}
      ByRef: !ImportValue {Ref: Net}
      Joined: !ImportValue {'Fn::Join': ['-', [a, b]]}
      Unknown: !ImportValue {'Fn::Sub': '${Nope}-Z'}
      ByMap: !ImportValue {'Fn::Sub': ['${S}-Arn', {S: {Ref: Net}}]}
      Escaped: !ImportValue {'Fn::Sub': '${!Net}-${Net}'}
""")
    assert imported_names(template, {"Net": "crud-api", "AWS::StackName": "audit"}) == {
        "orders-core-TopicArn", "crud-api-QueueArn", "audit-Own", "lit-Y", "crud-api", "a-b", "crud-api-Arn",
        "${Net}-crud-api"}
