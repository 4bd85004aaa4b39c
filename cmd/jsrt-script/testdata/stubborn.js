// Ignores SIGTERM (and so does its child): only SIGKILL stops it.
const { task } = require("jsrt");
task("stubborn", {
  cmd: "trap '' TERM; echo $$ > task.pid; sleep 300 & echo $! > gc.pid; while :; do wait; done",
});
