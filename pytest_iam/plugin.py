"""pytest hooks (placeholder, replaced as the plugin grows)."""
