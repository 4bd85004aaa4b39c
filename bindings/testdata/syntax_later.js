task("lint", { cmd: "eslint ." });

task("test", { cmd: "go test", deps: ["lint"] ]});
