task("shell", {
  cmd: "go build ./...",
  deps: ["gen"],
  inputs: ["**/*.go", "go.mod"],
  outputs: ["bin/app"],
  env: ["GOFLAGS"],
  cwd: "cmd/app",
  timeout: "90s",
  retries: 2,
  pool: "cpu",
  tags: ["build"],
  priority: -3,
  critical: true,
  cache: false,
  ttl: "1h",
  description: "builds the app",
});
task("gen", { cmd: ["go", "generate", "./..."], timeout: 1500 });
task("fractional", { cmd: "true", timeout: 0.5, retries: 3.0 });
