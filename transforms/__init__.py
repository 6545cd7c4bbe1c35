"""Pure reshaping: export tables to canonical lines, orders, payloads and error rows."""
