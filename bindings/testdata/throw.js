// An exception two calls deep.
function inner() {
  throw new Error("boom");
}
function outer() {
  inner();
}
outer();
