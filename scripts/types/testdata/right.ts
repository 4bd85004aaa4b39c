/// <reference path="../jsrt.d.ts" />
// Every part of the API, used as documented.
import { task, pool, root, glob, run, args, scheduler, optimizer, monitor, history, cache } from "jsrt";
import type { RunSummary, TaskInfo } from "jsrt";
const parallelism = require("jsrt/policies/parallelism");

root(".");
pool("heavy", { slots: 1 });
const sources: string[] = glob("src/**/*.c");
task("build", { cmd: ["make", "all"], inputs: sources, outputs: ["bin/app"], env: ["CC"], timeout: "5m", ttl: 3600000 });
task("test", { cmd: "make test", deps: ["build"], retries: 2, pool: "heavy", tags: ["ci"], priority: 1, critical: true });
task("key", { cmd: "true", cache: false, cacheKey: (name) => name + args.join(","), description: "d" });

scheduler.on("priority", (t: TaskInfo, ctx) => (ctx.failFast ? t.failureRate : t.blocking + t.weight));
scheduler.on("select", (_t, pools) => pools.sort((a, b) => b.performance * b.availability / b.load - a.performance * a.availability / a.load)[0].name);
scheduler.on("retry", (_t, attempt, result) => (result.timedOut ? false : { retry: attempt < 3, delayMs: 100 * 2 ** attempt }));
optimizer.on("parallelism", (m, s) => (m.cpu > 90 ? { jobs: s.jobs - 1, reason: "busy" } : parallelism(m, s)));
monitor.on("taskEnd", (e) => console.log(e.task, e.outcome, e.durationMs));
task("lint:a", { cmd: "lint {inputs}", inputs: ["a.c"], batch: "lint", pool: ["heavy", "light"] });
scheduler.on("batch", (tasks) => [tasks.map((t) => t.name)]);
monitor.on("anomaly", (a) => console.warn(`${a.task} took ${a.durationMs}ms, expected ${a.expectedMs}ms`));

const p = history.predict("build");
if (p.confidence === "high" && p.ewmaMs > 1000) cache.invalidate("build", "test");

const r: RunSummary = await run(["build", "test"], { jobs: 2, continue: true, dryRun: false });
if (r.ok && r.tasks.build.status === "ok") {
  const again = await run("test");
  console.log(again.exitCode, again.counts.failed ?? 0, monitor.metrics()?.efficiency, again.ahead.hits, again.metrics?.utilisation);
}
setTimeout(() => console.log("later"), 10);
export {};
