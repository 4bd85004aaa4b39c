const { task } = require("jsrt");
task("a", { cmd: "touch a.ran" });
task("a", { cmd: "touch a2.ran" });
