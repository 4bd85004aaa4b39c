// The grandchild (a background sleep) must die with the task on timeout.
const { task } = require("jsrt");
task("slow", { cmd: "sleep 300 & echo $! > gc.pid; sleep 300", timeout: "500ms" });
