"""JSON Schemas for every file trueup reads or writes, and one validate helper."""
