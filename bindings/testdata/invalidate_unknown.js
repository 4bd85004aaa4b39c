const { cache } = require("jsrt");
task("build", { cmd: "go build" });
cache.invalidate("biuld");
