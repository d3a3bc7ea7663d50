"""Notifications: render a message for a user. Standard library only."""

import string

TEMPLATE = string.Template("Hello $name, your order $order has shipped.")


def notify(path, body):
    return 202, {"message": TEMPLATE.safe_substitute(name=body.get("name", "customer"), order=body.get("order", "?"))}


ROUTES = {("POST", "/notifications"): notify}
