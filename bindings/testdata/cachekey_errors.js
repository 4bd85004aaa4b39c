// cacheKey functions that fail; args[0] picks the case. The run is rejected.
const { args } = require("jsrt");
const keys = {
  "not a string": () => 42,
  "throws": () => {
    throw new Error("no key today");
  },
};
task("a", { cmd: "make", cacheKey: keys[args[0]] });
await run("a");
