// Top-level await of run(): what the script sees of the outcome.
task("lint", { cmd: "eslint ." });
task("build", { cmd: "make", deps: ["lint"] });
const r = await run(["build"], { jobs: 2, continue: true, dryRun: true });
console.log(Object.getPrototypeOf(r) === Object.prototype, Array.isArray(r.order));
console.log(r.ok, r.exitCode, r.order.join(","), r.tasks.build.status, r.tasks.lint.durationMs);
console.log(JSON.stringify(r));
await run("lint");
await run();
