// The process ensureDaemon spawns: `node entry.js DATA_DIR`. It runs the daemon detached,
// logging to daemon.log, and exits with the daemon's status. Errors before the log is open,
// such as an invalid STEPPER_DAEMON_* value, go to stderr, which is daemon.crash.log.
import { runDaemon } from './daemon.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: node entry.js DATA_DIR\n');
  process.exit(2);
}

try {
  const exit = await runDaemon({ dataDir, detached: true });
  process.exit(exit.code);
} catch (error) {
  process.stderr.write(`${new Date().toISOString()} stepper daemon failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
