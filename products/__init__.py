"""The bank side: banks, loan products, the catalogue queries and the CSV/JSON import and export."""
