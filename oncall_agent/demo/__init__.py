"""The demo: a small misbehaving service and the scenario `oncall demo` runs against it."""
