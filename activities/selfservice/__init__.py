"""Self-service reads and scripts (the subscriber's own API and portal): what only the subscriber's side
needs; everything else reuses the business areas' scripts."""
