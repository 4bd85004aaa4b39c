// For `jsrt-script report`: build -> test -> package is the critical path
// (each sleeps; lint alone takes no time); flaky fails on its first attempt
// of the first run only (the marker stays for later runs). cache: false
// keeps every run a real execution.
const { task } = require("jsrt");
task("build", { cmd: "sleep 0.2", cache: false });
task("test", { cmd: "sleep 0.2", deps: ["build"], cache: false });
task("package", { cmd: "sleep 0.2", deps: ["test"], cache: false });
task("lint", { cmd: "true", cache: false });
task("flaky", { cmd: "if [ -f marker ]; then exit 0; else touch marker; exit 1; fi", retries: 1, cache: false });
