"""Loaded models, how they are loaded from a URI, and the registry of what is served."""
