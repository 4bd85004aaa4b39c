// a and b depend on each other; c hangs off the cycle, d is independent.
const { task } = require("jsrt");
task("a", { cmd: "touch a.ran", deps: ["b"] });
task("b", { cmd: "touch b.ran", deps: ["a"] });
task("c", { cmd: "touch c.ran", deps: ["a"] });
task("d", { cmd: "touch d.ran" });
