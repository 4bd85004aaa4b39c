// The default parallelism policy of jsrt-script, in JavaScript.
//
// While a run goes on, the machine is sampled every 500 ms and this function
// decides how many tasks may run at once, between --min-j and -j. It is the
// same rule as the Go default (runtime/optimize, Rule.Decide), reasons
// included; a strategy can replace it with its own parallelism(metrics, state)
// hook, and may start from a copy of this file.
//
// metrics: { time, cpu, memory, memAvailable, load1, disk, cpus, runnable,
//            selfRunnable }
//   time in Unix ms; cpu, memory (used, from available) and disk (busiest
//   device) in percent 0-100; memAvailable in bytes; load1 the one-minute
//   load average; cpus the number of logical CPUs (0 when unknown);
//   runnable the threads runnable machine-wide at the sample and
//   selfRunnable those of jsrt-script itself, the sampling one included
//   (0 when unknown).
// state: { jobs, minJobs, maxJobs, running, waiting, finished, failed,
//          speculation, sinceChangeMs }
//   finished / failed count the last 20 finished tasks; waiting is the number
//   of ready tasks a free slot would start; sinceChangeMs is the time since
//   the last change (or since the first sample).
// returns { jobs, reason }: an unchanged jobs with reason "" means no change.
//
// CPU above 90 % lowers jobs only when the machine is over-subscribed: when
// jobs is more than the CPUs left for us once the runnable threads that are
// not ours (not our running tasks, not jsrt-script's) have theirs. Our own
// tasks keeping every CPU busy lowers nothing while jobs is no more than
// the CPUs. Once the others are gone, jobs goes back up while more CPUs are
// left for us than jobs, however busy our own tasks keep the CPU.
//
// Memory above 85 % does not lower jobs: it holds memory-heavy tasks, which
// admission (not this policy) takes care of.

"use strict";

const thresholds = {
  cpuHigh: 90,       // CPU % above which parallelism goes down
  memHigh: 85,       // memory % above which memory-heavy tasks wait (admission)
  cpuLow: 60,        // "low" means below these
  memLow: 70,
  diskLow: 50,
  loadLow: 1,        // load average per CPU
  failureRate: 0.2,  // more than 20 % of recent finished tasks failed...
  failureMin: 5,     // ...out of at least 5
  cooldownMs: 2000,  // at most one change per 2 s
};

function parallelism(metrics, state) {
  const T = thresholds;
  const jobs = state.jobs;
  const hold = { jobs: jobs, reason: "" };
  if (state.sinceChangeMs < T.cooldownMs) return hold;

  // Down by a quarter, at least one, never below the lower bound.
  const down = Math.max(state.minJobs, jobs - Math.max(1, Math.floor(jobs / 4)));
  const failing = !state.speculation && state.finished >= T.failureMin && state.finished > 0 &&
    state.failed / state.finished > T.failureRate;

  // CPUs that are ours to use: the CPUs less the runnable threads that are
  // not ours, at least 1. Unknown without the CPU and runnable counts.
  const known = metrics.cpus > 0 && metrics.runnable > 0;
  const others = Math.max(0, metrics.runnable - Math.max(1, metrics.selfRunnable) - state.running);
  const ours = Math.max(1, metrics.cpus - others);

  // "5 other runnable threads on 2 cpus: none left for our 2 jobs (1 kept)"
  const threads = others === 1 ? "1 other runnable thread" : `${others} other runnable threads`;
  const cpus = metrics.cpus === 1 ? "1 cpu" : `${metrics.cpus} cpus`;
  const none = metrics.cpus - others < 1;
  const ourJobs = jobs === 1 ? "1 job" : `${jobs} jobs`;
  const left = `${threads} on ${cpus}: ${none ? "none" : ours} left for our ${ourJobs}${none ? " (1 kept)" : ""}`;

  if (metrics.cpu > T.cpuHigh && jobs > state.minJobs) {
    // One decimal where the rounded figure would not read as above.
    const shown = Math.round(metrics.cpu) > T.cpuHigh ? Math.round(metrics.cpu) : Math.round(metrics.cpu * 10) / 10;
    const cpu = `cpu ${shown}% > ${T.cpuHigh}%`;
    if (!known) return { jobs: down, reason: cpu };
    // Not below the CPUs left for us.
    if (jobs > ours) return { jobs: Math.max(down, ours), reason: `${cpu} with ${left}` };
  }
  if (failing && jobs > state.minJobs) {
    const share = Math.round(100 * state.failed / state.finished);
    return {
      jobs: down,
      reason: `${state.failed} of the last ${state.finished} finished tasks failed ` +
        `(${share}% > ${Math.round(100 * T.failureRate)}%)`,
    };
  }

  // Up by one only when every slot is busy, a task waits for one, and
  // either more CPUs are left for us than jobs (what the rule above took
  // back returns once the others are gone, though our own tasks keep the
  // CPU busy) or everything is low.
  if (failing || jobs >= state.maxJobs || state.waiting === 0 || state.running < jobs) return hold;
  const waits = state.waiting === 1 ? "1 task waits" : `${state.waiting} tasks wait`;
  if (known && jobs < ours && metrics.cpu <= T.cpuHigh && metrics.memory < T.memLow && metrics.disk < T.diskLow) {
    return { jobs: jobs + 1, reason: `${left}, and ${waits} for a slot` };
  }
  const loadHigh = metrics.cpus > 0 && metrics.load1 / metrics.cpus >= T.loadLow;
  if (metrics.cpu >= T.cpuLow || metrics.memory >= T.memLow || metrics.disk >= T.diskLow || loadHigh) {
    return hold;
  }
  let reason = `cpu ${Math.round(metrics.cpu)}%, memory ${Math.round(metrics.memory)}%, ` +
    `disk ${Math.round(metrics.disk)}%`;
  if (metrics.cpus > 0) {
    reason += `, load ${Math.round(100 * metrics.load1 / metrics.cpus)}% of ${metrics.cpus} cpus`;
  }
  return { jobs: jobs + 1, reason: `${reason} are low and ${waits} for a slot` };
}

module.exports = parallelism;
module.exports.thresholds = thresholds;
