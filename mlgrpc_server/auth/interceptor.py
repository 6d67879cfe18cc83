"""The server interceptor that authenticates every call and checks the permission it needs.

It runs inside `ErrorMappingInterceptor` (bootstrap puts that first), so it only raises
`Unauthenticated` / `PermissionDenied` and the one mapping point turns them into statuses with
an ErrorInfo. A client stream (LogStream, UploadArtifact) is checked message by message as the
servicer reads it, whenever a message names another run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc

from mlgrpc_server.auth.rules import (
    ADMIN,
    LOGGED_MODEL,
    OPEN_SERVICES,
    REGISTRY_SERVICE,
    RUN,
    ResourceRef,
    Rule,
)
from mlgrpc_server.auth.store import TokenStore
from mlgrpc_server.auth.tokens import (
    EXPERIMENT,
    REGISTERED_MODEL,
    Permission,
    Principal,
    Resource,
    Role,
)
from mlgrpc_server.errors import PermissionDenied, Unauthenticated

logger = logging.getLogger(__name__)

_RENAME_MODEL = f"/{REGISTRY_SERVICE}/RenameRegisteredModel"
_DELETE_MODEL = f"/{REGISTRY_SERVICE}/DeleteRegisteredModel"


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The token of `authorization: Bearer <token>`; Unauthenticated if absent or malformed."""
    for key, value in metadata or ():
        if key != "authorization":
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the authorization metadata must be 'Bearer <token>'")
        return token.strip()
    raise Unauthenticated(
        "this call needs a token: send the metadata 'authorization: Bearer <token>' "
        "(mlgrpc clients: set MLGRPC_TOKEN); `mlgrpc tokens create` issues one"
    )


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates calls by bearer token and enforces `rules` (full method name → Rule)."""

    def __init__(self, store: TokenStore, rules: dict[str, Rule]) -> None:
        self._store = store
        self._rules = rules
        self._warned: set[str] = set()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method[1:].split("/", 1)[0] in OPEN_SERVICES:
            return handler
        rule = self._rule(method)
        if rule.permission is None:
            return handler
        metadata = handler_call_details.invocation_metadata
        authorize = self._authorize
        after = self._after

        def unary(behavior: Callable[..., Any], with_hooks: bool) -> Callable[..., Any]:
            def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
                principal = self._authenticate(metadata)
                authorize(principal, rule, method, request)
                response = behavior(request, context)
                if with_hooks:
                    after(principal, rule, method, request, response, context)
                return response

            return wrapper

        def client_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                principal = self._authenticate(metadata)
                if rule.locator is None:
                    authorize(principal, rule, method, None)
                    return behavior(requests, context)
                return behavior(self._checked(principal, rule, method, requests), context)

            return wrapper

        if handler.unary_unary:
            return handler._replace(unary_unary=unary(handler.unary_unary, True))
        if handler.unary_stream:
            return handler._replace(unary_stream=unary(handler.unary_stream, False))
        if handler.stream_unary:
            return handler._replace(stream_unary=client_stream(handler.stream_unary))
        if handler.stream_stream:
            return handler._replace(stream_stream=client_stream(handler.stream_stream))
        return handler

    def _rule(self, method: str) -> Rule:
        rule = self._rules.get(method)
        if rule is not None:
            return rule
        if method not in self._warned:
            self._warned.add(method)
            logger.warning("%s has no permission rule: only admin tokens may call it", method)
        return ADMIN

    def check_call(
        self, method: str, metadata: Sequence[tuple[str, str | bytes]], request: Any = None
    ) -> None:
        """Authenticate and authorise one call of `method` (a full gRPC method name) made
        through another protocol (the scoring service's HTTP routes), by the same rules."""
        if method[1:].split("/", 1)[0] in OPEN_SERVICES:
            return
        rule = self._rule(method)
        if rule.permission is not None:
            self._authorize(self._authenticate(metadata), rule, method, request)

    def _authenticate(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Principal:
        return self._store.authenticate(bearer_token(metadata))

    def _checked(
        self, principal: Principal, rule: Rule, method: str, requests: Iterator[Any]
    ) -> Iterator[Any]:
        """The client stream, each message authorised when it names a new resource."""
        assert rule.locator is not None
        checked: ResourceRef | None = None
        for index, request in enumerate(requests):
            ref = rule.locator(request)
            if index == 0 or (ref is not None and ref != checked):
                self._authorize(principal, rule, method, request)
                checked = ref
            yield request

    def _authorize(self, principal: Principal, rule: Rule, method: str, request: Any) -> None:
        """Return if `principal` may make this call, else raise PermissionDenied."""
        need = rule.permission
        assert need is not None
        if principal.role is Role.ADMIN:
            return
        name = method.rsplit("/", 1)[-1]
        if rule.admin_only:
            raise PermissionDenied(
                f"{name} needs an admin token; token {principal.name!r} has role "
                f"{principal.role.value}",
                metadata={"permission": "ADMIN", "token": principal.name},
            )
        if need is Permission.READ:  # every valid token may read everything
            return
        default = principal.role.default_permission
        ref = rule.locator(request) if rule.locator is not None and request is not None else None
        if ref is None:
            if default >= need:
                return
            what = f"create a {rule.creates.replace('_', ' ')}" if rule.creates else "call it"
            raise PermissionDenied(
                f"{name} needs a write or admin token to {what}; token {principal.name!r} has "
                f"role {principal.role.value}",
                metadata={"permission": need.name, "token": principal.name},
            )
        if not principal.grants and default >= need:
            return  # no grant can restrict it: no need to look the resource up
        resource = self._resource(ref)
        if resource is None:
            if default >= need:
                return  # no such run: the servicer answers NOT_FOUND
            resource = Resource(RUN, ref.id)
        have = principal.permission_on(resource)
        if have < need:
            where = str(resource) if resource.type != RUN else f"run {ref.id!r}"
            raise PermissionDenied(
                f"{name} needs {need.name} on {where}; token {principal.name!r} has "
                f"{have.name} there",
                metadata={
                    "permission": need.name,
                    "resource_type": resource.type,
                    "resource": resource.id,
                    "token": principal.name,
                },
            )

    def _resource(self, ref: ResourceRef) -> Resource | None:
        if ref.kind == LOGGED_MODEL:
            experiment_id = self._store.experiment_of_logged_model(ref.id)
            return Resource(EXPERIMENT, experiment_id) if experiment_id is not None else None
        if ref.kind != RUN:
            return Resource(ref.kind, ref.id)
        experiment_id = self._store.experiment_of_run(ref.id)
        return Resource(EXPERIMENT, experiment_id) if experiment_id is not None else None

    def _after(
        self,
        principal: Principal,
        rule: Rule,
        method: str,
        request: Any,
        response: Any,
        context: grpc.ServicerContext,
    ) -> None:
        """Keep grants in step with what the call did (creator's MANAGE, renames, deletes)."""
        code = context.code()
        if code is not None and code != grpc.StatusCode.OK:
            return
        try:
            if rule.creates == EXPERIMENT:
                resource = Resource(EXPERIMENT, response.experiment_id)
                self._store.grant_creator(principal, resource)
            elif rule.creates == REGISTERED_MODEL:
                resource = Resource(REGISTERED_MODEL, response.registered_model.name)
                self._store.grant_creator(principal, resource)
            elif method == _RENAME_MODEL:
                self._store.rename_model_grants(request.name, request.new_name)
            elif method == _DELETE_MODEL:
                self._store.drop_model_grants(request.name)
        except Exception:  # noqa: BLE001 - the call itself succeeded; do not fail it now
            logger.exception("%s succeeded but its grants could not be updated", method)


def build_interceptor(engine: Any, rules: dict[str, Rule]) -> AuthInterceptor:
    """The interceptor of a service whose database holds the tokens (migration 0004_auth)."""
    return AuthInterceptor(TokenStore(engine), rules)


def auth_interceptors(engine: Any, rules: dict[str, Rule], enabled: bool) -> list[AuthInterceptor]:
    """`[the interceptor]` when auth is enabled, else `[]` (what `start_server` is given)."""
    return [build_interceptor(engine, rules)] if enabled else []
