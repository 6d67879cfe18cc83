"""Explicit converters between wire payloads and the columns a model predicts on."""
