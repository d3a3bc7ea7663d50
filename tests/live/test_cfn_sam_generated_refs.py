"""cfn_sam_generated_refs: a SAM template names the resources SAM generates (`!Ref MyApi.Stage`,
`!Ref MyFunction.Alias`), as SAM's docs write a usage plan and an alias's consumers; LocalStack failed the deploy."""

TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: v1}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      AutoPublishAlias: live
      InlineCode: "def handler(e, c): return {'statusCode': 200, 'body': 'ok'}"
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /x, Method: get}}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{ApiId: !Ref Api, Stage: !Ref Api.Stage}]
Outputs:
  PlanId: {Value: !Ref Plan}
  Alias: {Value: !Ref Fn.Alias}
"""


def test_refs_to_what_sam_generates_deploy(sb, tmp_path):
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    outputs = sb.deploy(str(tmp_path / "template.yaml"), stack_name="sam-generated-refs").outputs
    plan = sb.client("apigateway").get_usage_plan(usagePlanId=outputs["PlanId"])
    assert [stage["stage"] for stage in plan["apiStages"]] == ["v1"]
    assert outputs["Alias"].endswith(":live"), outputs
    sb.destroy("sam-generated-refs")
