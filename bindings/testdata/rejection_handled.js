// Rejections that are handled, at once or a tick later, are not errors.
const p = Promise.reject(new Error("handled later"));
await null;
p.catch((e) => console.log("caught:", e.message));
try {
  await Promise.reject(new Error("awaited"));
} catch (e) {
  console.log("caught:", e.message);
}
