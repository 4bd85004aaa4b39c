// base <- left, right <- top: base must run exactly once.
const { task } = require("jsrt");
task("base", { cmd: "echo base >> log.txt" });
task("left", { cmd: "echo left >> log.txt", deps: ["base"] });
task("right", { cmd: "echo right >> log.txt", deps: ["base"] });
task("top", { cmd: "echo top >> log.txt", deps: ["left", "right"] });
