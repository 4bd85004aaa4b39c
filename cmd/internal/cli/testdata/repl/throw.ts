import { task } from "jsrt";

interface Settings {
  name: string;
  retries: number;
}

const settings: Settings = { name: "t", retries: 0 };
task(settings.name, { cmd: "true", retries: settings.retries });

function check(s: Settings): void {
  if (s.retries < 1) {
    throw new RangeError(`${s.name}: retries must be at least 1`);
  }
}
check(settings);
