task("half", { cmd: "true" });
throw new Error("broken strategy");
