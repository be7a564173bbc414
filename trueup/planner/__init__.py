"""Observe the world read-only, diff it against the desired state, and build the plan."""
