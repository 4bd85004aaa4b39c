// cache.invalidate(...names) through the Config.Invalidate seam.
const { cache } = require("jsrt");
task("gen", { cmd: "go generate" });
task("build", { cmd: "go build", deps: ["gen"] });
const gone = cache.invalidate("gen", "build");
console.log(Array.isArray(gone), JSON.stringify(gone));
