"""Network definitions, named after the modules of the papers they follow (Qt-free, torch only)."""
