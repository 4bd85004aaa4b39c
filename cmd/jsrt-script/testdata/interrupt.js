// A long task that records its own pid and its child's.
const { task } = require("jsrt");
task("long", { cmd: "echo $$ > task.pid; sleep 300 & echo $! > gc.pid; wait" });
