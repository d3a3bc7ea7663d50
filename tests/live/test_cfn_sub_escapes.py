"""cfn_sub_escapes: `${!Literal}` in a Fn::Sub is CloudFormation's escape for a literal `${Literal}` (IAM policies'
`${!aws:username}`, a shell script's `${!HOME}` in user data, a Step Functions definition's own placeholders)."""

TEMPLATE = """Resources:
  Policy:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Sub "arn:${AWS::Partition}:s3:::home-${AWS::Region}/${!aws:username}/*"
  Dotted:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Sub ["${Prefix} ${!Shell.Var} ${!Policy}", {Prefix: echo}]
Outputs:
  Policy:
    Value: !GetAtt Policy.Value
  Dotted:
    Value: !GetAtt Dotted.Value
"""


def test_an_escaped_sub_variable_is_written_literally(sb, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    outputs = sb.deploy(str(path), stack_name="sub-escapes").outputs
    assert outputs["Policy"] == "arn:aws:s3:::home-us-east-1/${aws:username}/*"
    assert outputs["Dotted"] == "echo ${Shell.Var} ${Policy}"  # not the resource Policy
    sb.destroy("sub-escapes")


def test_a_change_set_with_escaped_sub_variables_can_be_described(sb):
    """sam deploy and aws cloudformation deploy describe the change set first; LocalStack's describer resolves the
    values after the change its own way, and `${!Shell.Var}` failed it ("Unresolved resource dependencies [!Shell]")."""
    cfn = sb.client("cloudformation")
    cfn.create_change_set(StackName="sub-escapes-described", ChangeSetName="first", TemplateBody=TEMPLATE,
                          ChangeSetType="CREATE")
    cfn.get_waiter("change_set_create_complete").wait(StackName="sub-escapes-described", ChangeSetName="first",
                                                       WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    described = cfn.describe_change_set(StackName="sub-escapes-described", ChangeSetName="first")
    assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
    assert {c["ResourceChange"]["LogicalResourceId"] for c in described["Changes"]} == {"Policy", "Dotted"}
    cfn.delete_stack(StackName="sub-escapes-described")
