// For the live view on a terminal: hello prints and ends; wait prints, then
// holds the run (and the live block) until the test creates the file "go";
// last runs after both.
const { task } = require("jsrt");
task("hello", { cmd: "echo hello from hello", cache: false });
task("wait", { cmd: "echo waiting; while [ ! -f go ]; do sleep 0.02; done; echo went", cache: false });
task("last", { cmd: "echo last", deps: ["hello", "wait"], cache: false });
