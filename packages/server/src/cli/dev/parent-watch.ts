/**
 * Preloaded (`node --import`) into every process `cairn dev` starts, which passes its own pid in
 * CAIRN_DEV_PARENT_PID. When the dev process goes away without stopping its children (SIGKILL, a
 * crash), the child is re-parented: it then stops itself as on SIGTERM (cleanly: a replica closes
 * its database), and exits hard if that takes too long. So no orphan outlives `cairn dev`, even
 * one whose parent died while it was still starting.
 */

export const PARENT_PID_ENV = 'CAIRN_DEV_PARENT_PID';

const CHECK_INTERVAL_MS = 500;
const STOP_TIMEOUT_MS = 10_000;

const expected = Number(process.env[PARENT_PID_ENV]);
// Not for this process's own children.
delete process.env[PARENT_PID_ENV];

if (Number.isInteger(expected) && expected > 0) {
  const check = setInterval(() => {
    if (process.ppid === expected) return;
    clearInterval(check);
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  }, CHECK_INTERVAL_MS);
  // The watch must not keep the process alive by itself.
  check.unref();
}
