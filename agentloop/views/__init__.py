"""Views of stored runs: ``show``'s text and JSON, run metrics, and ``export``'s training data."""
