"""The HTTP gateway: MLflow's REST API (`/api/2.0/mlflow/...`) in front of the mlgrpc services.

Stateless: every request becomes calls to the tracking and registry services over their gRPC
contracts, and the answer is shaped as MLflow's server shapes it, so that the `mlflow` client
works unchanged.
It opens no database; replicas behind a load balancer need nothing shared.
"""
