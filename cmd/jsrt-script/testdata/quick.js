const { task } = require("jsrt");
task("quick", { cmd: "touch quick.ran" });
