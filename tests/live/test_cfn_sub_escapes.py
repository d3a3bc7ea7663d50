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
