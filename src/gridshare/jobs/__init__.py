"""Core: the transactional outbox (`outbox`), its worker (`worker`) and delivery handlers."""
