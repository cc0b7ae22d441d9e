"""Layer 0: leaves every other layer may use (status values, YAML reading, token confidence, reply
parsing, telemetry, packaged resources, output files). They import nothing of agentloop but ``errors``."""
