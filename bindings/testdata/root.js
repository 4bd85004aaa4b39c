// root() before and after moving the root: relative to this file's directory.
console.log(root());
console.log(root("glob"));
console.log(root());
