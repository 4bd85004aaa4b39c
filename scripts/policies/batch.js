// The default batch policy. Ready tasks that share a `batch` key (say one
// lint task per file, each with cmd "lint {inputs}") can run as one
// process over all their inputs. Given those ready tasks in priority
// order, return the batches as arrays of task names; the first batch
// starts now, the others wait for slots. This rule fills each batch up to
// about 2 s of predicted work (a task with no prediction counts as 1/16 of
// that, so at most 16 unknown tasks share a process).
//
//   const defaultBatch = require("jsrt/policies/batch");
//   scheduler.on("batch", (tasks) => defaultBatch(tasks.slice(0, 8)));

const TARGET_MS = 2000;

module.exports = function batch(tasks) {
  const out = [];
  let cur = [];
  let sum = 0;
  for (const t of tasks) {
    const ms = t.predictedMs > 0 ? t.predictedMs : TARGET_MS / 16;
    if (cur.length > 0 && sum + ms > TARGET_MS) {
      out.push(cur);
      cur = [];
      sum = 0;
    }
    cur.push(t.name);
    sum += ms;
  }
  if (cur.length > 0) out.push(cur);
  return out;
};
