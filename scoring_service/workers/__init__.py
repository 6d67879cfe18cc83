"""Several server processes sharing one port (SO_REUSEPORT)."""
