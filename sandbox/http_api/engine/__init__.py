"""What HTTP APIs install into LocalStack: the execute-api routing (router.py); the provider and resource providers
are plux plugins (plugin.py, registered in pyproject.toml)."""


def install() -> None:
    from sandbox.http_api.engine import router
    from sandbox.localstack_ext.lazy import when_imported

    when_imported(router.TARGET, router.apply, what="sandbox HTTP APIs on the execute-api routes")
