"""Campaign services: verbs (start, dial, disposition, import). Each module is one area."""
