// cat ends at once only if its stdin is closed.
const { task } = require("jsrt");
task("cat", { cmd: "cat" });
