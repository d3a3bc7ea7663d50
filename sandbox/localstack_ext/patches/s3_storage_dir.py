"""S3 object bodies spill to a directory shared by every LocalStack on the host.

`localstack.services.s3.provider.DEFAULT_S3_TMP_DIR` is hard-coded to `/tmp/localstack-s3-storage`; objects over
512 KiB are written there in a folder named after the bucket (`s3/storage/ephemeral.py`), and a state reset
deletes that folder. Two sandboxes on one machine (two state dirs, parallel test sessions) therefore share and
delete each other's large objects ("No such file or directory" on PutObject/GetObject). Each sandbox gets its
own directory under its state dir instead.
"""

import os


TARGET = "localstack.services.s3.provider"


def apply() -> None:
    from localstack.services.s3 import provider

    state_dir = os.environ.get("SANDBOX_STATE_DIR")
    if state_dir:
        provider.DEFAULT_S3_TMP_DIR = os.path.join(state_dir, "tmp", "s3-storage")
