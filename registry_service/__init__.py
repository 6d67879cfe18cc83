"""The model-registry service: registered models, versions, stages, aliases over gRPC."""
