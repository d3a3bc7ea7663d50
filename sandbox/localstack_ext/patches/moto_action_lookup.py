"""moto's action lookup without listing the handler class's methods on every request (speed).

moto/core/responses.py `BaseResponse.call_action` runs `method_names_from_class(self.__class__)` for every request
of a moto-backed service (DynamoDB here, IAM, STS, ...): `inspect.getmembers` over the whole response class, then
a list search. py-spy of a media-pipeline drain: 1.6 % of LocalStack's GIL time (2026-12-05). The names of a
class's functions are fixed once LocalStack has loaded its patches, so they are computed once per class.
"""

from __future__ import annotations

import functools

TARGET = "moto.core.responses"


def apply() -> None:
    from moto.core import responses

    original = responses.method_names_from_class

    @functools.cache
    def method_names_from_class(clazz) -> frozenset[str]:
        return frozenset(original(clazz))

    responses.method_names_from_class = method_names_from_class
