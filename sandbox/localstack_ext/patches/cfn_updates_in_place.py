"""A stack update that changes a resource LocalStack cannot update reports success and changes nothing.

`localstack.services.cloudformation.resource_provider.ResourceProviderExecutor.execute_action` (localstack-core
2026.3.0) turns a provider's NotImplementedError on update into a warning in LocalStack's log and SUCCESS with the
previous state. 83 resource types have no update, among them what SAM apps change most: an S3 event's filter (the
bucket's NotificationConfiguration), an EventBridge rule's pattern or targets, a function URL's AuthType (NONE
kept answering unsigned calls after the template said AWS_IAM), an EventInvokeConfig's retries, a DynamoDB table's
indexes, stream or TTL. `sandbox deploy` said "UPDATE_COMPLETE".

Workarounds:
* updates for the commonest: AWS::Events::Rule (PutRule and PutTargets again under the rule's name, stale targets
  removed), AWS::Lambda::Url (UpdateFunctionUrlConfig), AWS::Lambda::EventInvokeConfig (PutFunctionEventInvokeConfig
  replaces the whole config, as the resource's properties do), AWS::S3::Bucket (of what its create applies, what
  changed: notifications, versioning, CORS, tags, website, object lock; re-applying an unchanged notification sent
  S3's test event to the queues again; its other changes, a lifecycle say, are reported as below);
  AWS::StepFunctions::StateMachine's own update kept, with its Name (it read "unknown" after any update) and RoleArn;
  AWS::DynamoDB::Table (its stream on or off, TTL, an index added or removed and index throughput, billing, tags; a
  key schema change or a stream's new view type is reported);
  AWS::IAM::Role's inline policies and AWS::Lambda::Function's tags after LocalStack's own update, which left them;
  AWS::ApiGateway::GatewayResponse (PutGatewayResponse again);
* for every other type, a change LocalStack cannot apply is reported: the resource's event carries NOT_APPLIED and
  the changed properties (the deployer turns it into a warning: sandbox/deploy/deployer.py). A "Dynamic" update
  whose properties did not change says nothing.
"""

from __future__ import annotations

import json
import logging

TARGET = "localstack.services.cloudformation.resource_provider"
LOG = logging.getLogger(__name__)
# The start of the reason of a resource event whose update was not applied (read by the deployer)
NOT_APPLIED = "NOT APPLIED in the sandbox:"


def changed_properties(desired: dict, previous: dict, read_only: frozenset[str],
                       create_only: frozenset[str] = frozenset()) -> list[str]:
    """The template properties whose value an update changes, adds or removes. Left out: read-only ones (the previous
    state carries them, the template never sets them) and create-only ones the template leaves out (a name the
    create generated)."""
    keys = (set(desired) | set(previous)) - read_only - (create_only - set(desired))
    return sorted(k for k in keys if desired.get(k) != previous.get(k))


def _schema_properties(provider, kind: str) -> frozenset[str]:
    """The resource's `kind` properties (readOnlyProperties, createOnlyProperties), from its schema as
    cfn_property_types reads and keeps it (once per provider class, not on every update)."""
    from sandbox.localstack_ext.patches.cfn_property_types import schema_of

    return frozenset(p.rsplit("/", 1)[-1] for p in schema_of(provider).get(kind, []))


def changed_of(provider, desired: dict, previous: dict) -> list[str]:
    """The template properties an update of `provider`'s type changes (changed_properties, with the type's schema)."""
    return changed_properties(desired, previous, _schema_properties(provider, "readOnlyProperties"),
                              _schema_properties(provider, "createOnlyProperties"))


def not_applied_event(request, provider):
    """SUCCESS with the previous state, as LocalStack answers, but saying what was not applied; nothing said when
    nothing changed (a Dynamic update, re-evaluated because something it refers to changed, whose values did not)."""
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

    changed = changed_of(provider, request.desired_state or {}, request.previous_state or {})
    if not changed:
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=request.previous_state)
    message = not_applied_message(request.resource_type, changed)
    LOG.warning("%s (%s)", message, request.logical_resource_id)
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=request.previous_state, message=message)


def not_applied_message(resource_type: str, changed: list[str]) -> str:
    return (f"{NOT_APPLIED} LocalStack cannot update {resource_type} in place, so its change to "
            f"{', '.join(changed)} is not applied: it runs with its previous settings. `sandbox destroy` the "
            "stack and deploy it again to apply it")


class _Reporting:
    """A resource provider whose update reports what it could not apply instead of raising NotImplementedError."""

    def __init__(self, provider):
        self._provider = provider

    def __getattr__(self, name):
        return getattr(self._provider, name)

    def update(self, request):
        from localstack.services.cloudformation.deployment_utils import check_not_found_exception
        from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

        try:
            return self._provider.update(request)
        except NotImplementedError:
            if request.previous_state is None:  # LocalStack's own fallback then creates it
                raise
            return not_applied_event(request, self._provider)
        except Exception as e:
            if check_not_found_exception(e, request.resource_type, request.desired_state):
                raise  # LocalStack's own fallback: success with the previous state
            # LocalStack's execute_action words any failed update "Failed to delete resource with id ...": the error
            # itself says what went wrong
            return ProgressEvent(status=OperationStatus.FAILED, resource_model={}, message=f"update failed: {e}",
                                 custom_context={"exception": e})


def apply() -> None:
    from localstack.services.cloudformation.resource_provider import ResourceProviderExecutor

    original = ResourceProviderExecutor.execute_action
    if getattr(original, "_sandbox_patch", False):
        return

    def execute_action(self, resource_provider, raw_payload):
        if raw_payload.get("action") in ("Dynamic", "Modify"):
            resource_provider = _Reporting(_with_update(resource_provider))
        return original(self, resource_provider, raw_payload)

    execute_action._sandbox_patch = True
    ResourceProviderExecutor.execute_action = execute_action


def _with_update(provider):
    """`provider`, or for the types updated here, an object whose update does it."""
    update = _UPDATES.get(type(provider).__name__)
    if update is None:
        return provider
    return _Updating(provider, update)


class _Updating:
    def __init__(self, provider, update):
        self._provider, self._update = provider, update

    def __getattr__(self, name):
        return getattr(self._provider, name)

    def update(self, request):
        return self._update(self._provider, request)


def _success(model, request=None, not_applied: set[str] = frozenset()):
    """Success with `model`; the changed properties in `not_applied` are said in the event (a deploy warning)."""
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

    event = ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)
    if not_applied:
        event.message = not_applied_message(request.resource_type, sorted(not_applied))
    return event



def _update_rule(provider, request):
    """PutRule again under the rule's name (Name and EventBusName are create-only: a change replaces the rule),
    then its targets: PutTargets for the template's, RemoveTargets for the others."""
    previous = request.previous_state or {}
    model = request.desired_state
    model["Name"] = model.get("Name") or previous.get("Name") or previous.get("Id", "").split("|")[-1]
    result = provider.create(request)
    events = request.aws_client_factory.events
    scope = {"EventBusName": model["EventBusName"]} if model.get("EventBusName") else {}
    wanted = {t.get("Id") for t in model.get("Targets") or []}
    stale = [t["Id"] for t in events.list_targets_by_rule(Rule=model["Name"], **scope).get("Targets", [])
             if t["Id"] not in wanted]
    if stale:
        events.remove_targets(Rule=model["Name"], Ids=stale, Force=True, **scope)
    return result


def _update_url(provider, request):
    model = request.desired_state
    params = {"FunctionName": model["TargetFunctionArn"], "AuthType": model["AuthType"],
              "Cors": model.get("Cors") or {}}  # a Cors the template removed is removed
    if model.get("Qualifier"):
        params["Qualifier"] = model["Qualifier"]
    if model.get("InvokeMode"):
        params["InvokeMode"] = model["InvokeMode"]
    response = request.aws_client_factory.lambda_.update_function_url_config(**params)
    model["FunctionArn"], model["FunctionUrl"] = response["FunctionArn"], response["FunctionUrl"]
    return _success(model)


def _update_event_invoke_config(provider, request):
    model = request.desired_state
    params = {k: v for k, v in model.items() if k != "Id"}
    request.aws_client_factory.lambda_.put_function_event_invoke_config(**params)
    model["Id"] = (request.previous_state or {}).get("Id")
    return _success(model)


def _update_gateway_response(provider, request):
    """PutGatewayResponse again: it replaces the whole response (a StatusCode the template removed is removed).
    ResponseType and RestApiId are create-only: a change of either replaces the resource. As on AWS, the API's
    stages answer with it from their next deployment."""
    model = request.desired_state
    params = {"restApiId": model["RestApiId"], "responseType": model["ResponseType"]}
    for key, name in (("StatusCode", "statusCode"), ("ResponseParameters", "responseParameters"),
                      ("ResponseTemplates", "responseTemplates")):
        if model.get(key) is not None:
            params[name] = model[key]
    request.aws_client_factory.apigateway.put_gateway_response(**params)
    model["Id"] = (request.previous_state or {}).get("Id")
    return _success(model)


# What an S3 bucket's update applies, each only when it changed: re-applying an unchanged notification configuration
# made S3 send its s3:TestEvent to every queue again (a handler expecting Records failed on it, into the DLQ)
BUCKET_APPLIED = frozenset({"NotificationConfiguration", "VersioningConfiguration", "CorsConfiguration", "Tags",
                            "WebsiteConfiguration", "ObjectLockConfiguration"})


def _update_bucket(provider, request):
    """Applies to the existing bucket what changed among what its create applies (BucketName is create-only: a new
    name replaces it); what the template no longer has is removed. Other changed properties (a lifecycle, an
    encryption, a public access block: LocalStack's create ignores them too) are reported as not applied."""
    previous = request.previous_state or {}
    model = request.desired_state
    model["BucketName"] = model.get("BucketName") or previous.get("BucketName")
    s3, bucket = request.aws_client_factory.s3, model["BucketName"]
    changed = set(changed_of(provider, model, previous))
    if "NotificationConfiguration" in changed:
        config = provider._get_s3_bucket_notification_config(model)
        s3.put_bucket_notification_configuration(
            **(config or {"Bucket": bucket, "NotificationConfiguration": {}}))
    if "VersioningConfiguration" in changed:
        status = (model.get("VersioningConfiguration") or {}).get("Status", "Suspended")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    tags = model.get("Tags")
    for name, value, put, delete in (  # put what the template has, delete what it no longer has
            ("CorsConfiguration", provider._transform_cfn_cors(model.get("CorsConfiguration")),
             lambda v: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=v), s3.delete_bucket_cors),
            ("Tags", {"TagSet": tags} if tags else None,
             lambda v: s3.put_bucket_tagging(Bucket=bucket, Tagging=v), s3.delete_bucket_tagging),
            ("WebsiteConfiguration", provider._transform_website_configuration(model.get("WebsiteConfiguration")),
             lambda v: s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=v), s3.delete_bucket_website)):
        if name in changed:
            if value:
                put(value)
            else:
                delete(Bucket=bucket)
    if "ObjectLockConfiguration" in changed and model.get("ObjectLockConfiguration"):
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=model["ObjectLockConfiguration"])
    provider._setup_post_creation_attributes(model, request.region_name)
    return _success(model, request, changed - BUCKET_APPLIED)


def _update_state_machine(provider, request):
    """LocalStack's update, which drops the Name (`!GetAtt Machine.Name` read "unknown" after any update) and the
    RoleArn."""
    previous = request.previous_state or {}
    result = provider.update(request)
    model = result.resource_model
    model["StateMachineName"] = model.get("StateMachineName") or previous.get("StateMachineName")
    model["Name"] = model.get("Name") or model["StateMachineName"] or previous.get("Name")
    if model.get("RoleArn") and model["RoleArn"] != previous.get("RoleArn"):
        request.aws_client_factory.stepfunctions.update_state_machine(stateMachineArn=model["Arn"],
                                                                      roleArn=model["RoleArn"])
    return result


# What a DynamoDB table's update applies (AWS updates them in place); the others are reported as not applied
TABLE_APPLIED = frozenset({"StreamSpecification", "TimeToLiveSpecification", "GlobalSecondaryIndexes", "BillingMode",
                           "ProvisionedThroughput", "Tags", "AttributeDefinitions"})
GSI_DEFINITION = ("IndexName", "KeySchema", "Projection")  # what CloudFormation cannot change on an existing index


def _capacity(throughput):
    """ProvisionedThroughput with int units (a `Type: String` parameter gives "5"; LocalStack's create stores ints)."""
    if not isinstance(throughput, dict):
        return throughput
    return {k: int(v) if k.endswith("CapacityUnits") and str(v).isdigit() else v for k, v in throughput.items()}


def _table_as_compared(model: dict) -> dict:
    """A table's properties as the template says them: capacities as ints, SSESpecification's `SSEEnabled` (which
    LocalStack's create stores as `Enabled`), indexes without ContributorInsightsSpecification (its create drops
    it), so an update compares like with like."""
    out = dict(model)
    if "ProvisionedThroughput" in out:
        out["ProvisionedThroughput"] = _capacity(out["ProvisionedThroughput"])
    if isinstance(out.get("SSESpecification"), dict) and "Enabled" in out["SSESpecification"]:
        sse = dict(out["SSESpecification"])
        sse.setdefault("SSEEnabled", sse.pop("Enabled"))
        out["SSESpecification"] = sse
    if isinstance(out.get("GlobalSecondaryIndexes"), list):
        out["GlobalSecondaryIndexes"] = [
            {**{k: v for k, v in g.items() if k != "ContributorInsightsSpecification"},
             **({"ProvisionedThroughput": _capacity(g["ProvisionedThroughput"])} if "ProvisionedThroughput" in g
                else {})} for g in out["GlobalSecondaryIndexes"] if isinstance(g, dict)]
    return out


def _index_updates(before: list, after: list, provisioned: bool) -> list[dict]:
    """The GlobalSecondaryIndexUpdates from `before`'s indexes to `after`'s, refused as CloudFormation refuses them:
    more than one index added or removed in one update, or an index's key schema or projection changed."""
    old, new = ({g["IndexName"]: g for g in side} for side in (before, after))
    redefined = [n for n in new if n in old and any(new[n].get(k) != old[n].get(k) for k in GSI_DEFINITION)]
    if redefined:
        raise ValueError("Cannot update GSI's properties other than Provisioned Throughput and Contributor Insights "
                         f"Specification ({', '.join(redefined)}): give the changed index a new name (one update "
                         "adds it, the next removes the old one)")
    added, removed = [n for n in new if n not in old], [n for n in old if n not in new]
    if len(added) + len(removed) > 1:
        raise ValueError("Cannot perform more than one GSI creation or deletion in a single update (adds "
                         f"{', '.join(added) or 'none'}, removes {', '.join(removed) or 'none'}): deploy one at a time")
    updates = [{"Delete": {"IndexName": n}} for n in removed]
    updates += [{"Create": {k: v for k, v in new[n].items() if k in (*GSI_DEFINITION, "ProvisionedThroughput")
                            and (k != "ProvisionedThroughput" or provisioned)}} for n in added]
    updates += [{"Update": {"IndexName": n, "ProvisionedThroughput": new[n]["ProvisionedThroughput"]}}
                for n in new if n in old and provisioned and new[n].get("ProvisionedThroughput")
                and new[n].get("ProvisionedThroughput") != old[n].get("ProvisionedThroughput")]
    return updates


def _update_table(provider, request):
    """A table's stream (switched on or off), TTL, global secondary indexes (one added or removed, throughput),
    billing and tags, each only when it changed. The stream's ARN is read back, so `!GetAtt Table.StreamArn` names
    the stream a new mapping reads (it read "unknown", and adding a DynamoDB event to a table failed the update).
    A stream's new view type is reported, not applied: AWS makes a new stream, and its mappings are replaced with
    it, which LocalStack cannot tell from the template (they would read the closed stream)."""
    previous = _table_as_compared(request.previous_state or {})
    model = request.desired_state = _table_as_compared(request.desired_state)
    model["TableName"] = model.get("TableName") or previous.get("TableName")
    ddb, table = request.aws_client_factory.dynamodb, model["TableName"]
    changed = set(changed_of(provider, model, previous))
    not_applied = changed - TABLE_APPLIED
    if "StreamSpecification" in changed:
        before, after = previous.get("StreamSpecification"), model.get("StreamSpecification")
        if before and after:  # another view type: a new stream
            not_applied.add("StreamSpecification")
            model["StreamSpecification"] = before
        elif before:
            ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
        else:
            ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": True,
                                                                   "StreamViewType": after["StreamViewType"]})
    if "TimeToLiveSpecification" in changed:
        ttl, before = model.get("TimeToLiveSpecification") or {}, previous.get("TimeToLiveSpecification") or {}
        on, was_on = (str(t.get("Enabled")).lower() == "true" for t in (ttl, before))  # a parameter's "true" too
        if was_on and (not on or ttl.get("AttributeName") != before["AttributeName"]):
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={
                "Enabled": False, "AttributeName": before["AttributeName"]})
        if on and (not was_on or ttl.get("AttributeName") != before["AttributeName"]):
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
    provisioned = (model.get("BillingMode") or "PROVISIONED") == "PROVISIONED"
    if changed & {"BillingMode", "ProvisionedThroughput"}:
        billing = {"BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST"}
        if provisioned and model.get("ProvisionedThroughput"):
            billing["ProvisionedThroughput"] = model["ProvisionedThroughput"]
        ddb.update_table(TableName=table, **billing)
    if "GlobalSecondaryIndexes" in changed:
        for update in _index_updates(previous.get("GlobalSecondaryIndexes") or [],
                                     model.get("GlobalSecondaryIndexes") or [], provisioned):
            ddb.update_table(TableName=table, AttributeDefinitions=model.get("AttributeDefinitions") or [],
                             GlobalSecondaryIndexUpdates=[update])
    description = ddb.describe_table(TableName=table)["Table"]
    if "Tags" in changed:
        wanted = {t["Key"]: t.get("Value", "") for t in model.get("Tags") or []}
        old = [t["Key"] for t in previous.get("Tags") or [] if t["Key"] not in wanted]
        if old:
            ddb.untag_resource(ResourceArn=description["TableArn"], TagKeys=old)
        if wanted:
            ddb.tag_resource(ResourceArn=description["TableArn"],
                             Tags=[{"Key": k, "Value": v} for k, v in wanted.items()])
    model["Arn"] = description["TableArn"]
    if model.get("StreamSpecification") and description.get("LatestStreamArn"):
        model["StreamArn"] = description["LatestStreamArn"]
    else:
        model.pop("StreamArn", None)
    return _success(model, request, not_applied)


def _update_role(provider, request):
    """LocalStack's update (it replaces the role when its name, trust policy or managed policies change), then the
    inline policies as the template has them: LocalStack's left them as created (a SAM function's new policy
    template, a `!If` around one), and kept the old ones in the stack's record."""
    previous = request.previous_state or {}
    result = provider.update(request)
    model = result.resource_model
    if model is previous or model == previous:  # not replaced: the template's properties, the role's ids
        model = {**{k: v for k, v in previous.items() if k in ("RoleName", "Arn", "RoleId")},
                 **request.desired_state}
        model["RoleName"] = model.get("RoleName") or previous.get("RoleName")
    iam, name = request.aws_client_factory.iam, model["RoleName"]
    wanted = {p["PolicyName"]: p.get("PolicyDocument") for p in model.get("Policies") or []
              if isinstance(p, dict) and p.get("PolicyName")}  # LocalStack's create skips the others too
    for stale in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        if stale not in wanted:
            iam.delete_role_policy(RoleName=name, PolicyName=stale)
    for policy_name, document in wanted.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=_policy_document(document))
    result.resource_model = model
    return result


def _policy_document(document) -> str:
    """An inline policy as LocalStack's role create writes it: no None values, a Version (SAM's policy templates
    name none), no empty Resource strings (what an `!If` to "" leaves)."""
    if not isinstance(document, dict):
        return document if isinstance(document, str) else json.dumps(document)
    from localstack.services.cloudformation.provider_utils import remove_none_values

    doc = remove_none_values(dict(document))
    doc["Version"] = doc.get("Version") or "2012-10-17"
    statements = doc.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and isinstance(statement.get("Resource"), list):
            statement["Resource"] = [r for r in statement["Resource"] if r]
    return json.dumps(doc)


def _update_function(provider, request):
    """LocalStack's update, then the function's tags as the template has them (LocalStack's update left them)."""
    result = provider.update(request)
    previous, model = request.previous_state or {}, request.desired_state
    before = {t["Key"]: t.get("Value", "") for t in previous.get("Tags") or []}
    after = {t["Key"]: t.get("Value", "") for t in model.get("Tags") or []}
    arn = (result.resource_model or {}).get("Arn") or previous.get("Arn")
    if before != after and arn:
        lam = request.aws_client_factory.lambda_
        if gone := [k for k in before if k not in after]:
            lam.untag_resource(Resource=arn, TagKeys=gone)
        if after:
            lam.tag_resource(Resource=arn, Tags=after)
    return result


_UPDATES = {
    "EventsRuleProvider": _update_rule,
    "LambdaUrlProvider": _update_url,
    "LambdaEventInvokeConfigProvider": _update_event_invoke_config,
    "S3BucketProvider": _update_bucket,
    "StepFunctionsStateMachineProvider": _update_state_machine,
    "DynamoDBTableProvider": _update_table,
    "IAMRoleProvider": _update_role,
    "LambdaFunctionProvider": _update_function,
    "ApiGatewayGatewayResponseProvider": _update_gateway_response,
}
