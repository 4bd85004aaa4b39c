const { task } = require("jsrt");
task("build", { cmd: "touch build.ran" });
task("test", { cmd: "touch test.ran", dep: ["build"] });
