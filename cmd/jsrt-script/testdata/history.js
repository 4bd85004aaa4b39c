// Two runs of this strategy go to history. cache: false keeps the second
// run of build a real execution rather than a cache hit.
const { task } = require("jsrt");
task("build", { cmd: "echo build", cache: false });
task("test", { cmd: "echo test", deps: ["build"], cache: false });
