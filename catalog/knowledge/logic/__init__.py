"""Plain Python of the knowledge base (no Django): chunking and Markdown reading."""
