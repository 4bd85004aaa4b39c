const { task, scheduler } = require("jsrt");
task("a", { cmd: "touch a.ran" });
scheduler.on("priority", (t) => {
  throw new Error("no " + t.name);
});
