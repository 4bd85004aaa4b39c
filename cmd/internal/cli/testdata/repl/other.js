task("lint", { cmd: "echo linting" });
