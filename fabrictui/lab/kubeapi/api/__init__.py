"""What the lab API server serves: the HTTPS front, discovery, OpenAPI, tables, patches,
watches and exec."""
