const { task } = require("jsrt");
task("a", { cmd: "touch a.ran", deps: ["a"] });
task("b", { cmd: "touch b.ran" });
