// A strategy for a C project driven by make: build, test, format check and
// a memory check under valgrind, in parallel where the graph allows.
//
//   jsrt-script run scripts/examples/c-project/strategy.js          # all
//   jsrt-script run scripts/examples/c-project/strategy.js memcheck
//
// The project it drives sits beside it (Makefile, src/, test/). The
// memory check is heavy, so it runs in a pool of one slot: two valgrind
// runs never compete, whatever -j says.
const { task, pool } = require("jsrt");

pool("heavy", { slots: 1 });

task("build", {
  cmd: "make -j2 all",
  inputs: ["src/**/*.c", "src/**/*.h", "test/**/*.c", "Makefile"],
  outputs: ["bin/app", "bin/wc_test"],
  env: ["CC", "CFLAGS"],
});

task("test", {
  cmd: ["make", "test"],
  deps: ["build"],
  inputs: ["test/**"],
  retries: 1,
  timeout: "2m",
});

task("format", { cmd: "make format-check", inputs: ["src/**/*.c", "src/**/*.h"] });

task("memcheck", {
  cmd: ["make", "memcheck"],
  deps: ["build"],
  pool: "heavy",
  timeout: "5m",
});

task("default", { cmd: "echo c-project: build, test, format and memcheck passed", deps: ["test", "format", "memcheck"] });
