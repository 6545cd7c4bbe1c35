"""Reading exports: one file (CSV/TSV/Excel, inside .zip/.gz) into an all-text table."""
