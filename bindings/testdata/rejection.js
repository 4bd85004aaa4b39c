// A promise rejected and never handled.
task("lint", { cmd: "eslint ." });
Promise.reject(new Error("nobody listens"));
console.log("script went on");
