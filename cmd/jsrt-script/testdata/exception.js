const { task } = require("jsrt");
task("a", { cmd: "touch a.ran" });
function inner() {
  throw new Error("boom");
}
function outer() {
  inner();
}
outer();
