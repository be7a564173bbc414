"""How recent a file time must be before trueup stops trusting it to tell a rewrite apart (git's "racy" entries).

Kernel file times come from a clock that ticks every few ms and some filesystems keep whole (or even even)
seconds; 2 s covers both. The stat cache hashes files changed in the 2 s before a plan once more; trueup watch
keeps in memory only files older than that (state/resident.py).
"""

RACY_SLACK_NS = 2_000_000_000
