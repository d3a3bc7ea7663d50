"""The slim endpoint: only its own code, so its init is a few milliseconds."""

import time
import uuid

INIT_AT = time.time()  # when this environment finished its init (module import)
ENVIRONMENT = uuid.uuid4().hex  # names this execution environment (its PID is 1 in each, as on AWS)


def handler(event, context):
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    return {"function": "slim", "env": ENVIRONMENT, "init_at": INIT_AT, "answer": sum(range(1000))}
