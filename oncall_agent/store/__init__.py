"""The SQL store: engine, tables, repository functions and migrations."""
