const { task, scheduler } = require("jsrt");
task("a", { cmd: "touch a.ran" });
scheduler.on("priority", async (t) => {
  throw new Error("rejected for " + t.name);
});
