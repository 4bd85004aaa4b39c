const { task } = require("jsrt");
task("a", { cmd: "touch a.ran" });
task("b", { cmd: "touch b.ran" ;
