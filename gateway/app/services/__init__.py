"""Business rules, one module per domain. Each use case is one transaction, committed here and only here."""
