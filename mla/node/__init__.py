"""Running a node: its first start (node_init), its operations page, its backups."""
