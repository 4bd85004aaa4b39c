// The default retry policy: retry while the task's `retries` allow, after
// an exponential backoff with jitter — 100–200 ms before the second
// attempt, doubling each time, capped at 10 s. An interrupted attempt is
// never retried (the scheduler does not even ask).
//
//   const defaultRetry = require("jsrt/policies/retry");
//   scheduler.on("retry", (task, attempt, result) =>
//     result.timedOut ? false : defaultRetry(task, attempt, result));
//
// Return false (no retry), true (retry now), a number (retry after that
// many ms), or { retry, delayMs }.

module.exports = function retry(task, attempt, result) {
  if (attempt > task.retries) return false;
  const ceiling = Math.min(200 * Math.pow(2, Math.min(attempt - 1, 6)), 10000);
  return { retry: true, delayMs: ceiling / 2 + Math.random() * (ceiling / 2) };
};
