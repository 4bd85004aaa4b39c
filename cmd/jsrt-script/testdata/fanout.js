// 50 leaves that all depend on one root.
const { task } = require("jsrt");
task("root", { cmd: "echo root >> log.txt" });
for (let i = 1; i <= 50; i++) {
  task("leaf" + i, { cmd: "echo leaf" + i + " >> log.txt", deps: ["root"] });
}
