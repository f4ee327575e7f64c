// pm2 process file for squidex-sync.
//
//   cd /folder/with/sync.yaml        # the daemon reads ./sync.yaml from where pm2 is started
//   pm2 start /path/to/squidex-sync/config/ecosystem.config.cjs
//   pm2 save && pm2 startup          # come back after a reboot
//   pm2 install pm2-logrotate        # pm2 never rotates its log files by itself
//
// The script is found next to this file, so it works from a git checkout or a
// global npm install alike; the config path is relative to pm2's working
// directory (change `args`, or copy this file next to your sync.yaml and edit).
const path = require('node:path');

module.exports = {
  apps: [
    {
      name: 'squidex-sync',
      script: path.join(__dirname, '..', 'dist', 'cli', 'main.js'),
      args: 'start --config ./sync.yaml',
      // One process only: two daemons on one state database would fight over the lock,
      // and cluster mode would start one per CPU.
      exec_mode: 'fork',
      instances: 1,
      // Restart on crash. No restart_delay / exp_backoff_restart_delay: with either, pm2 6
      // shows a process that stop_exit_codes stopped as "waiting restart" for ever.
      autorestart: true,
      // A process that dies within min_uptime counts as unstable; after max_restarts
      // unstable starts in a row pm2 stops trying and shows it as errored.
      min_uptime: '30s',
      max_restarts: 10,
      // Exit code 2 is a bad config or usage: restarting cannot fix it. pm2 shows the
      // process as stopped, exit code 2 (`pm2 describe squidex-sync`).
      stop_exit_codes: [2],
      // The daemon watches files itself; pm2's watch mode would restart it on every
      // change in the working directory, including its own state database.
      watch: false,
      // pm2 sends SIGINT on stop (the daemon drains on SIGINT or SIGTERM for up to 30 s),
      // then SIGKILL after kill_timeout: give the drain 45 s.
      kill_timeout: 45_000,
      // One log file per stream whatever the instance count, each line time-stamped.
      // Not `time: true`: it replaces log_date_format with pm2's own format.
      merge_logs: true,
      log_date_format: 'YYYY-MM-DD HH:mm:ss.SSS Z',
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
