import { task, run } from "jsrt";
import { label } from "./lib";

task("hello", { cmd: ["echo", label("hi")] });
const r = await run("hello");
console.log("ok:", r.ok);
