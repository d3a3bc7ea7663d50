"""Check of add-a-route: it calls the attendee's API as a client would and reads the item back."""

import uuid

from scenarios.labs.kits.http import brief, call, session

PATTERN = "crud-api"


def check_patch_route(ctx):
    http = session()
    status, created, _ = call(ctx, http, "POST", "items", {"payload": {"name": "lamp", "colour": "blue"}})
    if status != 201:
        ctx.fail(f"POST /items answered {status} ({brief(created)}): creating items must keep working")
    item_id = created["id"]

    status, body, _ = call(ctx, http, "PATCH", f"items/{item_id}", {"payload": {"colour": "red"}})
    ctx.note(patch_existing=status)
    if status in (403, 404) and not (isinstance(body, dict) and "item" in str(body.get("message", ""))):
        where = ("API Gateway has no PATCH method on /items/{id}: add an event with Method: patch to the "
                 "function in template.yaml" if status == 403 else
                 "the request reached the function, but it has no PATCH route: add @app.patch(\"/items/<item_id>\") "
                 "in src/app.py")
        ctx.fail(f"PATCH /items/{{id}} answered {status} ({brief(body)}) for an item that exists: {where}")
    if status != 200:
        ctx.fail(f"PATCH /items/{{id}} of an existing item answered {status} ({brief(body)}), not 200"
                 + (": the function raised: its error is in the TUI's Logs tab" if status >= 500 else ""))
    status, stored, _ = call(ctx, http, "GET", f"items/{item_id}")
    payload = stored.get("payload") if isinstance(stored, dict) else None
    if payload != {"name": "lamp", "colour": "red"}:
        ctx.fail(f"after PATCH {{\"payload\": {{\"colour\": \"red\"}}}} of an item with payload "
                 f"{{\"name\": \"lamp\", \"colour\": \"blue\"}}, the stored payload is {brief(payload)}: only the "
                 "fields sent may change (SET #payload.#field = :value, one per field)")

    unknown = f"no-such-{uuid.uuid4().hex[:8]}"
    status, body, _ = call(ctx, http, "PATCH", f"items/{unknown}", {"payload": {"colour": "red"}})
    ctx.note(patch_unknown=status)
    created_by_patch = call(ctx, http, "GET", f"items/{unknown}")[0] == 200
    if created_by_patch:
        ctx.fail(f"PATCH of an id that does not exist answered {status} and created the item: update_item "
                 "creates a missing key unless ConditionExpression=\"attribute_exists(id)\" stops it")
    if status != 404:
        ctx.fail(f"PATCH of an id that does not exist answered {status} ({brief(body)}), not 404: turn the "
                 "ConditionalCheckFailedException into a NotFoundError")

    bad = [("not JSON", "{oops", None), ("no payload", None, {"colour": "red"}),
           ("a payload that is not an object", None, {"payload": "red"}), ("an empty payload", None, {"payload": {}})]
    answers = {}
    for what, raw, body in bad:
        answers[what], text, _ = call(ctx, http, "PATCH", f"items/{item_id}", body, raw=raw)
        if answers[what] != 400:
            ctx.note(bad_bodies=answers)
            ctx.fail(f"PATCH with {what} answered {answers[what]} ({brief(text)}), not 400 with a message that "
                     "says what is wrong")
    status, stored, _ = call(ctx, http, "GET", f"items/{item_id}")
    if stored.get("payload") != {"name": "lamp", "colour": "red"}:
        ctx.fail(f"a rejected PATCH changed the item: its payload is now {brief(stored.get('payload'))}")
    ctx.note(bad_bodies=answers)
    return ("PATCH answers 200 and changes only the fields sent, 404 for an unknown id (creating nothing), 400 for "
            "bad bodies")


CHECKS = {"patch-route": check_patch_route}
