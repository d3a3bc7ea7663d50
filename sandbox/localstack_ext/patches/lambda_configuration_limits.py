"""A function's Timeout, MemorySize and ephemeral storage were taken at any value: a template that AWS refuses
deployed here ("works locally, fails on AWS").

`localstack.services.lambda_.provider.LambdaProvider.create_function` and `update_function_configuration`
(localstack-core 2026.3.0) store `Timeout: 1000`, `MemorySize: 64` or `MemorySize: 20000` as given; boto3 checks
only some minimums on its side, and LocalStack's CloudFormation calls the provider without that check. AWS answers
CreateFunction and UpdateFunctionConfiguration with a ValidationException: Timeout 1-900 s, MemorySize 128-10,240 MB,
EphemeralStorage.Size 512-10,240 MB.

Workaround: both calls check those ranges first and answer as AWS does, with AWS's wording; a stack's deploy then
fails naming the function and the value.
"""

from __future__ import annotations

TARGET = "localstack.services.lambda_.provider"

# request member -> (name in AWS's message, minimum, maximum)
LIMITS = {
    "Timeout": ("timeout", 1, 900),
    "MemorySize": ("memorySize", 128, 10240),
}
EPHEMERAL_STORAGE = ("ephemeralStorage.size", 512, 10240)


def violations(request: dict) -> list[str]:
    """AWS's words for each out-of-range value of a CreateFunction or UpdateFunctionConfiguration request."""
    checked = [(value, *LIMITS[member]) for member in LIMITS if (value := request.get(member)) is not None]
    storage = request.get("EphemeralStorage")
    if isinstance(storage, dict) and storage.get("Size") is not None:
        checked.append((storage["Size"], *EPHEMERAL_STORAGE))
    out = []
    for value, name, low, high in checked:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue  # not a number: the provider's own parsing answers
        if number < low:
            out.append(f"Value '{value}' at '{name}' failed to satisfy constraint: Member must have value greater "
                       f"than or equal to {low}")
        elif number > high:
            out.append(f"Value '{value}' at '{name}' failed to satisfy constraint: Member must have value less "
                       f"than or equal to {high}")
    return out


def message(errors: list[str]) -> str:
    return f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: {'; '.join(errors)}"


def apply() -> None:
    import functools

    from localstack.services.lambda_.provider import LambdaProvider, ValidationException

    create, update = LambdaProvider.create_function, LambdaProvider.update_function_configuration
    if getattr(create, "_sandbox_patch", False):
        return

    # functools.wraps keeps the @handler marks (expand=False) LocalStack's dispatch table is built from
    @functools.wraps(create)
    def create_function(self, context, request):
        if errors := violations(request):
            raise ValidationException(message(errors))
        return create(self, context, request)

    @functools.wraps(update)
    def update_function_configuration(self, context, request):
        if errors := violations(request):
            raise ValidationException(message(errors))
        return update(self, context, request)

    create_function._sandbox_patch = True
    LambdaProvider.create_function = create_function
    LambdaProvider.update_function_configuration = update_function_configuration
