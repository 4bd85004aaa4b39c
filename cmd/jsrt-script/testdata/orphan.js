// A task whose shell leaves a background child, for kill -9 of the coordinator.
const { task } = require("jsrt");
task("orphan", { cmd: "sleep 300 & echo $! > child.pid; echo $$ > leader.pid; wait" });
