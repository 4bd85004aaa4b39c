// Succeeds at once but leaves a background sleep behind.
const { task } = require("jsrt");
task("leftover", { cmd: "sleep 300 & echo $! > gc.pid; echo started" });
