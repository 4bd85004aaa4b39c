// The default priority policy: the order in which ready tasks start.
// A higher number starts first; ties go to the task defined first. The
// scheduler applies exactly this rule (in Go, for speed) when no priority
// hook is registered. Wrap it to adjust:
//
//   const defaultPriority = require("jsrt/policies/priority");
//   scheduler.on("priority", (task, ctx) =>
//     defaultPriority(task, ctx) + (task.tags.includes("slow") ? 60000 : 0));
//
// task: { name, tags, priority, critical, blocking, waitMs, weight,
//         predictedMs, confidence, failureRate, attempt, retries, pool }
// ctx:  { failFast }

const CRITICAL_STEP = 1e18; // critical: true goes before everything else
const PRIORITY_STEP = 1e15; // each unit of the priority option beats any weight
const FAIL_FAST_STEP = 1e12; // with --fail-fast: likely failures first
const BLOCKING_GAIN = 0.1; // blocking more than two others: +10 % of the weight

module.exports = function priority(task, ctx) {
  // The critical-path weight: predicted ms from this task's start to the
  // end of the run along its longest chain of dependents.
  let p = task.weight;
  if (task.blocking > 2) p += BLOCKING_GAIN * task.weight;
  if (ctx && ctx.failFast) p += FAIL_FAST_STEP * task.failureRate;
  p += PRIORITY_STEP * task.priority;
  if (task.critical) p += CRITICAL_STEP;
  return p;
};
