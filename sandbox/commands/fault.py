"""`sandbox fault`: inject service outages, throttling, latency and Lambda errors/timeouts/crashes."""

from __future__ import annotations

import json

import click

from sandbox.faults import TEMPLATES, FaultError, build_template, is_lambda_rule


def _sandbox(settings):
    from sandbox.commands.common import get_sandbox

    return get_sandbox(settings)


def _parse_rules(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise FaultError(f"--rule is not valid JSON: {e}") from None
    rules = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in rules):
        raise FaultError("--rule must be a JSON object or an array of objects")
    if not rules:  # `fault add --rule '[]'` added nothing and said nothing
        raise FaultError("--rule holds no rule: give a JSON object (a rule) or an array of them, e.g. "
                         "'{\"service\": \"dynamodb\", \"operation\": \"PutItem\"}'")
    return rules


def _split(rules: list[dict]) -> tuple[list[dict], list[dict]]:
    return [r for r in rules if not is_lambda_rule(r)], [r for r in rules if is_lambda_rule(r)]


def _describe(rule: dict) -> str:
    where = " ".join(x for x in (rule.get("service") or "every service", rule.get("operation") or "",
                                 f"in {rule['region']}" if rule.get("region") else "") if x)
    error = rule.get("error") or {}
    text = f"{where} -> {error.get('statusCode', 503)} {error.get('code', 'ServiceUnavailable')}"
    if rule.get("probability", 1) != 1:
        text += f"  p={rule['probability']}"
    return text


def _describe_lambda(rule: dict) -> str:
    target = rule.get("function") or "every function"
    if rule.get("qualifier"):
        target += f":{rule['qualifier']}"
    if rule.get("region"):
        target += f" in {rule['region']}"
    fault = rule["fault"]
    if fault in ("latency", "startup-latency"):
        fault += f" +{rule['latencyMs']} ms"
    elif fault == "error":
        fault += f" {(rule.get('error') or {}).get('type', 'Sandbox.InjectedError')}"
    text = f"{target} -> {fault}"
    if rule.get("probability", 1) != 1:
        text += f"  p={rule['probability']}"
    return text


@click.group()
def fault():
    """Inject faults: service outages, throttling, latency, Lambda errors, timeouts and crashes.

    \b
    sandbox fault add service-outage --service dynamodb
    sandbox fault add throttling --service sqs --probability 0.3
    sandbox fault add lambda-errors --function orders --probability 0.5
    sandbox fault add --rule '{"service": "s3", "operation": "GetObject", "error": {"statusCode": 404, "code": "NoSuchKey"}}'
    sandbox fault list; sandbox fault remove 1; sandbox fault clear
    """


@fault.command("add")
@click.argument("template", required=False)
@click.option("--rule", "rule_json", metavar="JSON",
              help="Rule(s) as JSON instead of a template: a service rule (service, region, operation, probability, "
                   "error) or a Lambda rule (function, qualifier, region, probability, fault, latencyMs, error).")
@click.option("--service", help="Service, as in LocalStack's catalog (dynamodb, sqs, s3, lambda, ...).")
@click.option("--region", help="Only this region.")
@click.option("--operation", help="Only this operation, e.g. PutItem.")
@click.option("--probability", type=float, help="Chance that a matching call fails, 0..1 (default 1).")
@click.option("--function", "function", help="Lambda function name or ARN (default: every function).")
@click.option("--qualifier", help="Only this Lambda version or alias.")
@click.option("--ms", type=int, help="Milliseconds of latency.")
@click.option("--error-type", help="errorType of a failed Lambda invocation.")
@click.option("--error-message", help="errorMessage of a failed Lambda invocation.")
@click.option("--json", "as_json", is_flag=True, help="Print what was added as JSON.")
@click.pass_obj
def add(settings, template, rule_json, as_json, **params):
    """Add faults from a TEMPLATE (see `sandbox fault templates`) or from --rule JSON."""
    if template and rule_json:
        raise FaultError("give either a TEMPLATE or --rule JSON, not both")
    if not template and not rule_json:
        raise FaultError(f"give a TEMPLATE or --rule JSON; templates: {', '.join(TEMPLATES)}")
    sb = _sandbox(settings)
    if rule_json:
        service_rules, lambda_rules = _split(_parse_rules(rule_json))
        if service_rules:
            sb.faults.add(*service_rules)
        if lambda_rules:
            sb.faults.add_lambda(*lambda_rules)
        added = {"faults": service_rules, "lambda": lambda_rules}
    else:
        plan = build_template(template, cli_names=True, **params)
        sb.faults.apply_plan(plan)
        added = plan.as_dict()
    if as_json:
        click.echo(json.dumps(added, indent=2))
        return
    for rule in added.get("faults", []):
        click.echo(f"added fault: {_describe(rule)}")
    for rule in added.get("lambda", []):
        click.echo(f"added Lambda fault: {_describe_lambda(rule)}")
    if added.get("effects") is not None:
        click.echo(f"latency on every AWS request: {added['effects']['latency']} ms")


@fault.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (rules with their hit counts).")
@click.pass_obj
def list_(settings, as_json):
    """List the active faults (numbered for `remove`), with how often each was injected."""
    st = _sandbox(settings).faults.status()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    if not st["faults"] and not st["lambda"] and not st["effects"].get("latency"):
        click.echo("no faults")
        return
    if st["faults"]:
        click.echo("service faults (first match wins):")
        for i, rule in enumerate(st["faults"], 1):
            hits = rule.pop("hits", None)
            click.echo(f"  {i:<3} {_describe(rule)}" + (f"   [{hits} injected]" if hits is not None else ""))
    if st["lambda"]:
        click.echo("Lambda faults (first match wins):")
        for i, rule in enumerate(st["lambda"], 1):
            hits = rule.pop("hits", None)
            click.echo(f"  L{i:<2} {_describe_lambda(rule)}" + (f"   [{hits} injected]" if hits is not None else ""))
    if st["effects"].get("latency"):
        click.echo(f"latency on every AWS request: {st['effects']['latency']} ms")



@fault.command("remove")
@click.argument("numbers", nargs=-1)
@click.option("--rule", "rule_json", metavar="JSON", help="Remove the rules equal to these (JSON object or array).")
@click.pass_obj
def remove(settings, numbers, rule_json):
    """Remove faults by their number in `sandbox fault list` (1, 2, ... and L1, L2, ...) or by --rule JSON."""
    if not numbers and not rule_json:
        raise FaultError("give rule numbers from `sandbox fault list` (e.g. 1 or L1) or --rule JSON")
    sb = _sandbox(settings)
    service_rules, lambda_rules = _split(_parse_rules(rule_json)) if rule_json else ([], [])
    if numbers:
        st = sb.faults.status()
        for number in numbers:
            is_lambda = number.upper().startswith("L")
            pool = st["lambda"] if is_lambda else st["faults"]
            try:
                index = int(number[1:] if is_lambda else number)
                if index < 1:
                    raise IndexError
                rule = dict(pool[index - 1])
            except (ValueError, IndexError):
                raise FaultError(f"no fault number {number!r} (see `sandbox fault list`)") from None
            rule.pop("hits", None)
            (lambda_rules if is_lambda else service_rules).append(rule)
    before = sb.faults.status()
    if service_rules:
        sb.faults.remove(*service_rules)
    if lambda_rules:
        sb.faults.remove_lambda(*lambda_rules)
    after = sb.faults.status()
    removed = len(before["faults"]) - len(after["faults"]) + len(before["lambda"]) - len(after["lambda"])
    if not removed:
        raise FaultError("no active fault matched (see `sandbox fault list`)")
    click.echo(f"removed {removed} fault(s)")


@fault.command("clear")
@click.pass_obj
def clear(settings):
    """Remove every fault and effect."""
    _sandbox(settings).faults.clear()
    click.echo("all faults cleared")


@fault.command("effects")
@click.option("--latency", type=int, metavar="MS", help="Milliseconds added to every AWS request (0 = none).")
@click.pass_obj
def effects(settings, latency):
    """Show or set network effects (latency on every AWS request)."""
    sb = _sandbox(settings)
    current = sb.faults.set_latency(latency) if latency is not None else sb.faults.effects()
    click.echo(f"latency: {current['latency']} ms")


@fault.command("templates")
def templates():
    """List the fault templates and their options."""
    for t in TEMPLATES.values():
        click.echo(f"{t.name:<18} {t.description}")
        opts = " ".join(f"--{p.name.replace('_', '-')}" + ("" if p.required else "?") for p in t.params)
        click.echo(f"{'':<18} options: {opts}")


COMMANDS = [fault]
