"""Server plumbing shared by the mlgrpc services.

Engine and sessions (`db`), the Alembic history of the one schema (`migrations`), the mapping of
exceptions to gRPC statuses (`errors`) and the server bootstrap (`bootstrap`). It imports none of
the services; the services import it.
"""
