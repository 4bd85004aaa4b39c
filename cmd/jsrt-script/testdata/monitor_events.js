// monitor.on listeners see each task start and end, in order; metrics()
// describes the run once it is over.
const { task, run, monitor } = require("jsrt");
task("a", { cmd: "true" });
task("b", { cmd: "exit 3", deps: ["a"] });
const seen = [];
monitor.on("taskStart", (e) => seen.push(`start ${e.task}`));
monitor.on("taskEnd", (e) => seen.push(`end ${e.task} ${e.outcome} ${e.exitCode}`));
await run("b");
const m = monitor.metrics();
console.log(seen.join(", "));
console.log(`completed ${m.completed}, efficiency ${m.efficiency > 0 && m.efficiency <= 1}`);
