"""Token authentication and permissions of the services (off unless a service is told `--auth`).

- `tokens`: roles, permissions, token secrets and their hashes (no database, no gRPC).
- `models`: the typed ORM tables of migration 0004_auth.
- `store`: create/list/revoke tokens and grants; look a token up with a short cache.
- `rules`: for every RPC, the permission it needs and the resource it concerns.
- `interceptor`: the `grpc.ServerInterceptor` enforcing the rules.
- `cli`: `mlgrpc tokens create|list|revoke|grant|revoke-grant`.
- `flags`: the services' `--auth` flag (env MLGRPC_AUTH).
"""
