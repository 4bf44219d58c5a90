"""Writers: one module per output format, each in the connector's own format."""
