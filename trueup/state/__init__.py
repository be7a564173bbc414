"""trueup's own persistent state: ledgers, lock, journal, caches, and the atomic write helper."""
