// trueup watch as a PM2 app, beside the services it watches:
//   TRUEUP_WORKSPACE=~/zylos-ops pm2 start ecosystem.config.js && pm2 save
// Alerts go to $TRUEUP_WATCH_ALERTS as JSON lines (and to PM2's log as readable lines).
// SIGTERM (pm2 stop/restart) ends it cleanly; a restart walks every tree once, then follows file events again.
const home = process.env.HOME || "";
const workspace = process.env.TRUEUP_WORKSPACE || `${home}/zylos-ops`;
const alerts = process.env.TRUEUP_WATCH_ALERTS || `${home}/.local/state/trueup/alerts.jsonl`;

module.exports = {
  apps: [
    {
      name: "trueup-watch",
      script: process.env.TRUEUP_BIN || "trueup",
      interpreter: "none", // trueup is a program, not a node script
      args: ["watch", "--alert-file", alerts, "--interval", "30"],
      cwd: workspace,
      env: { TRUEUP_WORKSPACE: workspace, NO_COLOR: "1" },
      autorestart: true,
      restart_delay: 5000, // a broken trueup.yaml: retry every 5 s, not in a tight loop
      kill_timeout: 10000, // a cycle in progress finishes its atomic writes
    },
  ],
};
