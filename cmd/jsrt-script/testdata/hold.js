// Holds the state until the file "release" appears.
const { task } = require("jsrt");
task("hold", { cmd: "echo $$ > hold.pid; while [ ! -f release ]; do sleep 0.05; done" });
