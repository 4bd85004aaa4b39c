// Fails on the first attempt (no marker yet), passes on the second.
const { task } = require("jsrt");
task("flaky", {
  cmd: "if [ -f marker ]; then echo second; else touch marker; echo first; exit 1; fi",
  retries: 2,
});
