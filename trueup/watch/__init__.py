"""`trueup watch`: plan as things change, alert once on new drift, apply what the policy allows (README, "Watch").

loop.py runs cycles until stopped (or one, ``--once``); cycle.py is one: plan, heal (heal.py, only with a policy),
alert (alerts.py). monitor.py turns inotify events (inotify.py) into the hint a plan's walk reads
(trueup/files/changed.py), so a cycle looks only at what changed, like git's fsmonitor.
"""
