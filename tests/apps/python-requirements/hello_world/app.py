import json

import tabulate
from tabulate import tabulate as table

from jokes_helper import one_joke


def lambda_handler(event, context):
    """Renders a small table with tabulate (from requirements.txt) and a joke from the layer's pyjokes."""
    rows = [["python", "uv"], ["nodejs", "npm"]]
    return {
        "statusCode": 200,
        "body": json.dumps({
            "table": table(rows, headers=["runtime", "installer"], tablefmt="github"),
            "tabulate_version": tabulate.__version__,
            "joke": one_joke(),
        }),
    }
