// About 505 MB of output: 5,000,000 lines of 100 bytes.
const { task } = require("jsrt");
task("big", { cmd: "head -c 500000000 /dev/zero | tr '\\0' 'a' | fold -w 100" });
