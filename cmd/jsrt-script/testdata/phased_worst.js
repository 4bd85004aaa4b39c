// Phase one fails, phase two passes: the exit status is the worst one.
const { task, run } = require("jsrt");
task("a", { cmd: "echo a >> log.txt; exit 4" });
task("b", { cmd: "echo b >> log.txt" });
await run("a");
await run("b");
