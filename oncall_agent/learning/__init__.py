"""Learning from history and outcomes: datasets, models, feedback, reports."""
