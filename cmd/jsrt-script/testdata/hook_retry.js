// Fails on its first two attempts; the retry hook allows exactly two retries.
const { task, scheduler } = require("jsrt");
task("flaky", { cmd: "echo x >> attempts.log; [ $(wc -l < attempts.log) -ge 3 ]", retries: 0 });
scheduler.on("retry", (t, attempt, result) => (attempt < 3 && result.exitCode === 1 ? 5 : false));
