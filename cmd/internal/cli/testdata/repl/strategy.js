// A strategy for the REPL tests.
const { task } = require("jsrt");

task("build", { cmd: "echo building" });
task("test", { cmd: "echo testing", deps: ["build"] });
task("slow", { cmd: "sleep 30" });
