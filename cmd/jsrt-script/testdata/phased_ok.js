// Phase two runs only if phase one passed.
const { task, run } = require("jsrt");
task("a", { cmd: "echo a >> log.txt" });
task("b", { cmd: "echo b >> log.txt" });
const r = await run("a");
if (r.ok) await run("b");
