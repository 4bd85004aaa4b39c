// run() rejects with the RunFunc's error.
task("build", { cmd: "make" });
await run("biuld");
