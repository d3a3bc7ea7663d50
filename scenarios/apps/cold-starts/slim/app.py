"""The slim endpoint: only its own code, so its init is a few milliseconds."""

import os
import time

INIT_AT = time.time()  # when this environment finished its init (module import)


def handler(event, context):
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    return {"function": "slim", "env": os.getpid(), "init_at": INIT_AT, "answer": sum(range(1000))}
