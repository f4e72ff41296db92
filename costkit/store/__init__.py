"""The usage store: connection, migrations, the price-rate table and the costed view."""
