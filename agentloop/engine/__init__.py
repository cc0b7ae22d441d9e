"""The engine: the run loop (``orchestrator``), what strategies see of it (``context``), the budget,
replay on resume, roles and prompts, signals and the run lock. Importing it does no work."""
