import { task } from "jsrt";

const n: number = 1;
task("t", { cmd: "true", retries: (n as number });
