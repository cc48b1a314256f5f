"""AST to typed model: name resolution, type checking and the static analyses, as diagnostics."""
