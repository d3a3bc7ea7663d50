"""ListLayers failed for the whole sandbox once any layer had no version left.

`localstack.services.lambda_.provider.LambdaProvider.list_layers` (localstack-core 2026.3.0) takes each layer's
last version (`layer_versions[-1]`); DeleteLayerVersion of a layer's last version leaves the layer with none (it
keeps the layer for its version counter: AWS never reuses a version number), so every later ListLayers answered
`InternalError: list index out of range` until a reset. A SAM `LayerVersion` with `RetentionPolicy: Delete` gets
there after a content change and a destroy. AWS lists only layers that have a version.

Workaround: the same listing, leaving out layers without a version (and taking the highest version, which
LocalStack's own sort, whose result it dropped, meant to).
"""

from __future__ import annotations

TARGET = "localstack.services.lambda_.provider"


def latest_versions(layers: dict) -> list[tuple[str, object, object]]:
    """(name, layer, its highest version) of each layer that has a version."""
    out = []
    for name, layer in list(layers.items()):
        versions = list(layer.layer_versions.values())
        if versions:
            out.append((name, layer, max(versions, key=lambda v: int(v.version))))
    return out


def apply() -> None:
    from localstack.aws.api.lambda_ import LayersListItem, ListLayersResponse
    from localstack.services.lambda_ import api_utils
    from localstack.services.lambda_.provider import LambdaProvider, ValidationException, lambda_stores
    from localstack.utils.collections import PaginatedList

    def list_layers(self, context, compatible_runtime=None, marker=None, max_items=None,
                    compatible_architecture=None, **kwargs):
        errors = [e for e in (api_utils.validate_layer_architecture(compatible_architecture),
                              api_utils.validate_layer_runtime(compatible_runtime)) if e]
        if errors:
            raise ValidationException(
                f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: {';'.join(errors)}")
        state = lambda_stores[context.account_id][context.region]
        items = PaginatedList([
            LayersListItem(LayerName=name, LayerArn=layer.arn,
                           LatestMatchingVersion=api_utils.map_layer_out(latest))
            for name, layer, latest in latest_versions(state.layers)])
        page, token = items.get_page(lambda item: item, marker, max_items)
        return ListLayersResponse(NextMarker=token, Layers=page)

    list_layers.__wrapped__ = LambdaProvider.list_layers
    LambdaProvider.list_layers = list_layers
