"""Runtime truth: what a service manager (PM2, systemd, launchd, Docker) runs, observed read-only."""
