"""Serves AWS's public Powertools layers from the sandbox's bundled copies, through LocalStack's layer fetcher.

`localstack.services.lambda_.provider.LambdaProvider._validate_layers` asks its `layer_fetcher` for a layer
version of another account it does not have (community edition: none, so "Fetching shared layers from AWS is a
pro feature"). Ours answers for the Powertools ARNs (public_layers.py) with a layer whose code is a folder of the
sandbox (HotReloadingCode: used in place, nothing zipped); for any other it answers None, which LocalStack turns
into AWS's AccessDeniedException. The function keeps AWS's ARN in its configuration, as on AWS.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from importlib import metadata

from localstack.services.lambda_.invocation.lambda_models import HotReloadingCode, Layer, LayerVersion
from localstack.services.lambda_.layerfetcher.layer_fetcher import LayerFetcher

from sandbox.lambda_process import public_layers, runtimes

LOG = logging.getLogger(__name__)

_DESCRIPTIONS = {
    public_layers.POWERTOOLS_PYTHON: ("Powertools for AWS Lambda (Python)", "aws-lambda-powertools",
                                      ["python3.9", "python3.10", "python3.11", "python3.12", "python3.13",
                                       "python3.14"]),
    public_layers.POWERTOOLS_TYPESCRIPT: ("Powertools for AWS Lambda (TypeScript)", None,
                                          ["nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"]),
}


class BundledLayerFetcher(LayerFetcher):
    def fetch_layer(self, layer_version_arn: str) -> Layer | None:
        layer = public_layers.classify(layer_version_arn, account=None)
        if layer is None or not layer.servable:
            return None
        root = runtimes.bundled_layer_root(layer.bundle)
        if root is None:
            LOG.warning("Public layer %s is served from a bundled copy that is not installed", layer_version_arn)
            return None
        what, distribution, compatible = _DESCRIPTIONS[layer.bundle]
        version = ""
        if distribution:
            try:
                version = " " + metadata.version(distribution)
            except metadata.PackageNotFoundError:
                pass
        layer_arn = layer_version_arn.rsplit(":", 1)[0]
        layer_version = LayerVersion(
            layer_version_arn=layer_version_arn,
            layer_arn=layer_arn,
            version=int(layer.version),
            code=HotReloadingCode(host_path=str(root)),
            license_info="MIT-0",
            compatible_runtimes=compatible,
            compatible_architectures=["x86_64", "arm64"],
            created=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            description=f"{what}{version}, served from the sandbox's bundled copy",
        )
        return Layer(arn=layer_arn, next_version=int(layer.version) + 1,
                     layer_versions={layer.version: layer_version})


def install() -> None:
    """Gives every LambdaProvider our fetcher (LocalStack's own hook for it needs a plugin entry point)."""
    from sandbox.localstack_ext.lazy import when_imported

    def patch_provider() -> None:
        from localstack.services.lambda_.provider import LambdaProvider

        original = LambdaProvider.__init__

        def init(self, *args, **kwargs):
            original(self, *args, **kwargs)
            if self.layer_fetcher is None:
                self.layer_fetcher = BundledLayerFetcher()

        LambdaProvider.__init__ = init

    when_imported("localstack.services.lambda_.provider", patch_provider, what="bundled Powertools layers")
