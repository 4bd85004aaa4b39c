// @ts-check
// Mistakes the typings must catch.
const { task, run, scheduler } = require("jsrt");

task("a", { cmd: 1 });
task("b", { cmd: "true", dep: ["a"] });
scheduler.on("priorty", () => 1);
run("a").then((r) => r.tasks.a.durationSeconds);
