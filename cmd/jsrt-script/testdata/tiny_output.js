// The same pipeline as big_output.js with 500 bytes: the memory baseline.
const { task } = require("jsrt");
task("big", { cmd: "head -c 500 /dev/zero | tr '\\0' 'a' | fold -w 100" });
