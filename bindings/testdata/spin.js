task("lint", { cmd: "eslint ." });
for (;;) {}
