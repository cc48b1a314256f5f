"""Text to AST: the grammar, the Lark parser (kept inside this package), the AST and its builder."""
