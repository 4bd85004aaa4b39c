// Phase one fails, so phase two does not run.
const { task, run } = require("jsrt");
task("a", { cmd: "echo a >> log.txt; exit 4" });
task("b", { cmd: "echo b >> log.txt" });
const r = await run("a");
if (r.ok) await run("b");
