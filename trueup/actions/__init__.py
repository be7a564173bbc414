"""One module per action type, and the apply orchestrator that replays approved actions."""
