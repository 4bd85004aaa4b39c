const { task } = require("jsrt");
task("hello", { cmd: "echo hello from the task" });
task("broken", { cmd: "echo broken output; exit 3" });
