// setTimeout and clearTimeout; pending timers keep the script alive.
const cleared = setTimeout(() => console.log("cleared timer fired"), 5);
clearTimeout(cleared);
clearTimeout(cleared);
setTimeout((a, b) => console.log("late", a, b), 40, "x", "y");
setTimeout(() => console.log("early"), 10);
await new Promise((resolve) => setTimeout(resolve, 1));
console.log("end of script");
