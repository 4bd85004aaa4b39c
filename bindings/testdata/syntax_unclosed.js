function define() {
  task("lint", { cmd: "eslint ." });

define();
