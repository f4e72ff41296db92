"""DuckDB connection, migrations, views; the only place that writes SQL DDL (issue 5)."""
